// A support-ticket router in Node, on the `openai` npm package, knowing nothing of simharness.
//
//     npm ci && node index.mjs PORT
//
// Each POST is a ticket event (JSON); the answer is the model's decision as JSON
// (`{"route": ..., "confidence": ...}`). The model is wherever the webhook's
// `x-simharness-world` header says the world is (`<world>/llm/v1`), and the webhook's
// `x-simharness-ticket` header is forwarded so the world bills the call to its ticket.
// When the model cannot be reached the webhook fails with a 503, as a real service would.
//
// ROUTER_STREAM=1 asks for streamed answers (server-sent events) and reads them chunk by
// chunk. The SDK's retries and timeout are set explicitly (ROUTER_MAX_RETRIES, default 1;
// ROUTER_TIMEOUT_MS, default 5000) rather than the SDK's defaults (2 retries, 10 minutes).
import http from "node:http";
import OpenAI from "openai";

const port = Number(process.argv[2]);
const stream = process.env.ROUTER_STREAM === "1";
const maxRetries = Number(process.env.ROUTER_MAX_RETRIES ?? 1);
const timeout = Number(process.env.ROUTER_TIMEOUT_MS ?? 5000);

// One client per world address, as an application keeps one client per API.
const clients = new Map();
function clientFor(world) {
  let client = clients.get(world);
  if (client === undefined) {
    client = new OpenAI({ baseURL: `${world}/llm/v1`, apiKey: "sk-simulated", maxRetries, timeout });
    clients.set(world, client);
  }
  return client;
}

async function route(ticket, world, ticketId) {
  const text = ticket.messages.map((m) => m.text).join("\n");
  const client = clientFor(world);
  const request = { model: "small", messages: [{ role: "user", content: text }] };
  const options = { headers: { "x-simharness-ticket": ticketId } };
  if (!stream) {
    const completion = await client.chat.completions.create(request, options);
    return JSON.parse(completion.choices[0].message.content);
  }
  const chunks = await client.chat.completions.create({ ...request, stream: true }, options);
  let content = "";
  for await (const chunk of chunks) {
    content += chunk.choices[0]?.delta?.content ?? "";
  }
  return JSON.parse(content);
}

function reply(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data) });
  res.end(data);
}

const server = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (part) => parts.push(part));
  req.on("end", async () => {
    let ticket;
    try {
      ticket = JSON.parse(Buffer.concat(parts).toString("utf8"));
    } catch (err) {
      reply(res, 400, { error: `not a ticket: ${err.message}` });
      return;
    }
    try {
      const decision = await route(ticket, req.headers["x-simharness-world"], req.headers["x-simharness-ticket"]);
      reply(res, 200, decision);
    } catch (err) {
      reply(res, 503, { error: `${err.constructor.name}: ${err.message}` });
    }
  });
});

server.listen(port, "127.0.0.1", () => console.log("ready"));
