from server.app import main

raise SystemExit(main())
