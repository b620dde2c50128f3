// Test receiver for markerwatch's webhooks. Every request is verified with the Standard Webhooks
// reference library (npm standardwebhooks) with the right secret, and must fail with a wrong one;
// each is appended to a JSON-lines log. The path picks a behaviour:
//   /ok          200
//   /fail/N      500 for the first N requests of a webhook-id, then 200
//   /limit       429 with Retry-After: 2 on the first request of a webhook-id, then 200
//   /slow        answers after 5 s (past a short timeout), later requests of that id at once
//   /reset       destroys the first connection of a webhook-id, then 200
//   /bad         400
//   /gone        410
//   /flap        alternates 503 and 200 per request
// Usage: node receiver.js PORT SECRET LOGFILE
const http = require("http");
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const [port, secret, logFile] = process.argv.slice(2);
const right = new Webhook(secret);
const wrong = new Webhook("whsec_" + Buffer.from("not the receiver's secret!!").toString("base64"));
const seen = new Map();  // webhook-id -> requests so far
let flap = 0;

function verifies(hook, body, headers) {
  try {
    hook.verify(body, headers);
    return true;
  } catch (e) {
    return false;
  }
}

http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const id = req.headers["webhook-id"] || "";
      const count = (seen.get(id) || 0) + 1;
      seen.set(id, count);
      const headers = {
        "webhook-id": id,
        "webhook-timestamp": req.headers["webhook-timestamp"] || "",
        "webhook-signature": req.headers["webhook-signature"] || "",
      };
      const entry = {
        path: req.url,
        id,
        count,
        verified: verifies(right, body, headers),
        wrong_secret_verified: verifies(wrong, body, headers),
        timestamp: headers["webhook-timestamp"],
        authorization: req.headers["authorization"] || "",
        body,
      };
      const answer = (status, extra) => {
        entry.status = status;
        fs.appendFileSync(logFile, JSON.stringify(entry) + "\n");
        res.writeHead(status, Object.assign({ "content-type": "text/plain" }, extra || {}));
        res.end(status === 200 ? "ok" : "status " + status);
      };
      const path = req.url;
      if (path.startsWith("/fail/")) {
        return answer(count <= Number(path.split("/")[2]) ? 500 : 200);
      }
      switch (path) {
        case "/ok":
          return answer(200);
        case "/limit":
          return count === 1 ? answer(429, { "retry-after": "2" }) : answer(200);
        case "/slow":
          if (count === 1) {
            entry.status = "timeout";
            fs.appendFileSync(logFile, JSON.stringify(entry) + "\n");
            return setTimeout(() => res.end("late"), 5000);
          }
          return answer(200);
        case "/reset":
          if (count === 1) {
            entry.status = "reset";
            fs.appendFileSync(logFile, JSON.stringify(entry) + "\n");
            return req.socket.destroy();
          }
          return answer(200);
        case "/bad":
          return answer(400);
        case "/gone":
          return answer(410);
        case "/flap":
          return answer(flap++ % 2 === 0 ? 503 : 200);
        default:
          return answer(404);
      }
    });
  })
  .listen(Number(port), "127.0.0.1", () => console.log("READY " + port));
