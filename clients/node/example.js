// A Node.js client of vocscore over gRPC (@grpc/grpc-js + @grpc/proto-loader, from the npm registry).
//
//   cd clients/node && npm ci && node example.js [HOST:PORT] [CUSTOMER_ID]
//
// Loads the protos from proto/ at run time (no code generation), then: a screen-pop card, one
// scored customer utterance, the end of that interaction, and a CSAT survey answer. Set
// VOC_TOKEN for a server with tokens. Prints one JSON line per call; exits 1 on an error.
"use strict";

const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTO_DIR = path.join(__dirname, "..", "..", "proto");

function loadVoc() {
  const definition = protoLoader.loadSync(path.join(PROTO_DIR, "voc", "v1", "voc.proto"), {
    includeDirs: [PROTO_DIR],
    keepCase: true, // field names as in the proto: customer_id
    enums: String, // enums by name: "CUSTOMER"
    longs: Number, // 64-bit ms timestamps as numbers (they fit in 2^53)
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).voc.v1;
}

function call(client, method, request, metadata) {
  const deadline = new Date(Date.now() + 5000);
  return new Promise((resolve, reject) =>
    client[method](request, metadata, { deadline }, (err, reply) => (err ? reject(err) : resolve(reply)))
  );
}

async function main() {
  const target = process.argv[2] || process.env.VOC_TARGET || "127.0.0.1:50051";
  const customer = process.argv[3] || "C0001";
  const voc = loadVoc();
  const client = new voc.Voc(target, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (process.env.VOC_TOKEN) metadata.set("authorization", `Bearer ${process.env.VOC_TOKEN}`);
  const interaction = `node-${Date.now()}`;
  try {
    const card = await call(client, "GetSummaryCard", { customer_id: customer, locale: "en" }, metadata);
    console.log(JSON.stringify({ call: "GetSummaryCard", customer_id: card.customer_id, priority: card.priority }));
    const score = await call(client, "ScoreUtterance", {
      interaction_id: interaction,
      customer_id: customer,
      agent_id: "A001",
      speaker: "CUSTOMER",
      channel: "CHAT",
      text: "I was charged twice for the same order and nobody answers!",
    }, metadata);
    console.log(JSON.stringify({
      call: "ScoreUtterance",
      emotion: score.emotion.label,
      valence: score.emotion.valence,
      topics: score.topics.map((t) => t.topic),
    }));
    const summary = await call(client, "EndInteraction", { interaction_id: interaction }, metadata);
    console.log(JSON.stringify({ call: "EndInteraction", utterances: summary.utterances }));
    const ack = await call(client, "RecordFeedback", {
      feedback_id: `${interaction}-csat`,
      customer_id: customer,
      agent_id: "A001",
      kind: "CSAT",
      score: 4,
      channel: "SURVEY",
      text: "Sorted out quickly, thanks",
    }, metadata);
    console.log(JSON.stringify({ call: "RecordFeedback", duplicate: ack.duplicate }));
  } catch (err) {
    console.error(`vocscore: ${err.code !== undefined ? grpc.status[err.code] : "error"}: ${err.details || err.message}`);
    process.exitCode = 1;
  } finally {
    client.close();
  }
}

main();
