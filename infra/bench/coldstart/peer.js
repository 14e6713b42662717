// The Node.js 20 + AWS SDK v3 peer of `form-submission` (infra/bench/run, issue 14), the
// same work as peer.py: verify the Standard Webhooks signature, derive the lead id, append
// the ledger entry (conditional PutItem), read the lead back (consistent Query of
// `by-arrival`), score it with the default rules (BENCH_RULES, JSON) and write the stage
// entry (a PutItem whose condition checks the erasure time the stage item mirrors).
// `@aws-sdk/client-dynamodb` is required unbundled from NODE_PATH, as the Lambda runtime
// provides it; the client is built at init.
"use strict";
const http = require("http");
const crypto = require("crypto");
const {
  DynamoDBClient, PutItemCommand, QueryCommand,
} = require("@aws-sdk/client-dynamodb");

const RULES = JSON.parse(process.env.BENCH_RULES);
const SECRET = Buffer.from(process.env.LEADSCORE_SECRET_JSON.replace(/^whsec_/, ""), "base64");
const LEAD_KEY = Buffer.from(process.env.LEADSCORE_LEAD_ID_KEY.trim());
const TABLE = process.env.LEADSCORE_TABLE || "leadscore";
const TOLERANCE_S = 300;
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
const dynamodb = new DynamoDBClient(endpoint ? { endpoint } : {});

class Refused extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

function verify(headers, body) {
  const id = headers["webhook-id"] || "", ts = headers["webhook-timestamp"] || "";
  if (!id || !/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > TOLERANCE_S) {
    throw new Refused(401, "unauthorized", "missing or stale webhook headers");
  }
  const expected = crypto.createHmac("sha256", SECRET)
    .update(`${id}.${ts}.`).update(body).digest();
  for (const part of (headers["webhook-signature"] || "").split(" ")) {
    const [version, sig] = part.split(",", 2);
    const given = Buffer.from(sig || "", "base64");
    if (version === "v1" && given.length === expected.length && crypto.timingSafeEqual(given, expected)) return;
  }
  throw new Refused(401, "unauthorized", "bad signature");
}

const leadId = (email) =>
  "ld_" + crypto.createHmac("sha256", LEAD_KEY).update(`email:${email}`).digest("hex").slice(0, 32);

function domainKind(email) {
  const domain = email.split("@").pop();
  for (const kind of ["competitor", "disposable", "free"]) {
    if (RULES.domains[kind].some((d) => domain === d || domain.endsWith("." + d))) return kind;
  }
  return "corporate";
}

function fitOf(profile, email) {
  const fields = { ...profile, email_domain_kind: domainKind(email) };
  let total = 0;
  for (const rule of RULES.fit.rules) {
    const value = fields[rule.field];
    if (value === undefined || value === null) continue;
    let hit = false;
    if (rule.contains) {
      const text = ` ${String(value).toLowerCase().replace(/-/g, " ").split(/\s+/).join(" ")} `;
      hit = rule.contains.some((w) => text.includes(` ${w} `));
    } else if (rule.one_of) {
      hit = rule.one_of.includes(String(value).toLowerCase());
    } else if (rule.equals !== undefined) {
      hit = String(value).toLowerCase() === rule.equals;
    } else if (rule.range) {
      const { min, max } = rule.range;
      hit = Number.isInteger(value) && (min === undefined || value >= min) && (max === undefined || value <= max);
    }
    if (hit) total += rule.points;
  }
  return Math.max(Math.min(total, RULES.fit.cap), -RULES.fit.cap);
}

function score(entries) {
  const perSignal = {}, groups = {}, profile = {}, kinds = new Set();
  let email = "";
  entries.sort((a, b) => (a.event.occurred_at < b.event.occurred_at ? -1 : 1));
  for (const { event } of entries) {
    const rule = RULES.signals[event.type];
    kinds.add(event.type);
    email = event.email || email;
    Object.assign(profile, event.profile || {});
    if (rule) {
      const got = (perSignal[event.type] || 0) + rule.points;
      perSignal[event.type] = rule.cap && got > 0 ? Math.min(got, rule.cap) : got;
    }
  }
  for (const [kind, points] of Object.entries(perSignal)) {
    const group = RULES.signals[kind].group || "";
    groups[group] = (groups[group] || 0) + points;
  }
  let engagement = 0;
  for (const [group, points] of Object.entries(groups)) {
    const cap = group && RULES.groups[group] ? RULES.groups[group].cap : null;
    engagement += cap ? Math.min(points, cap) : points;
  }
  engagement = Math.min(engagement, RULES.engagement_cap);
  const fit = fitOf(profile, email);
  const grade = ["A", "B", "C"].find((g) => fit >= RULES.fit.grades[g]) || "D";
  const stage = RULES.hand_raises.some((k) => kinds.has(k)) ? "sql"
    : engagement >= RULES.mql_engagement ? "mql" : "lead";
  return { fit, engagement, total: fit + engagement, grade, stage };
}

async function apply(event, nowMs) {
  const email = event.email.trim().toLowerCase();
  const lead = leadId(email), pk = `LEAD#${lead}`;
  const at = String(nowMs).padStart(20, "0");
  const eventId = `json:${event.id}`; // ids are per source, as the store keeps them
  const entry = JSON.stringify({ applied_at: new Date(nowMs).toISOString(), event });
  try {
    await dynamodb.send(new PutItemCommand({
      TableName: TABLE, ConditionExpression: "attribute_not_exists(pk)",
      Item: { pk: { S: pk }, sk: { S: `E#${eventId}` }, lsi1sk: { S: `A#${at}#${eventId}` }, entry: { S: entry } },
    }));
  } catch (e) {
    if (e.name === "ConditionalCheckFailedException") return false;
    throw e;
  }
  const { Items: items } = await dynamodb.send(new QueryCommand({
    TableName: TABLE, IndexName: "by-arrival", KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": { S: pk } }, ScanIndexForward: false, ConsistentRead: true, Limit: 64,
  }));
  const entries = items.filter((i) => i.entry).map((i) => JSON.parse(i.entry.S));
  const listed = items.find((i) => i.sk.S === "STAGE" && i.stage);
  const scored = score(entries);
  if (!listed || listed.stage.S !== scored.stage) {
    const folded = String(entries.length);
    await dynamodb.send(new PutItemCommand({
      TableName: TABLE,
      ConditionExpression: "(attribute_not_exists(pk) OR folded <= :f) AND attribute_not_exists(erased_at)",
      ExpressionAttributeValues: { ":f": { N: folded } },
      Item: { pk: { S: pk }, sk: { S: "STAGE" }, lsi1sk: { S: "~STAGE" }, stage: { S: scored.stage },
        gsi1pk: { S: `STAGE#${scored.stage}` }, gsi1sk: { S: `${at}#${lead}` }, folded: { N: folded } },
    }));
  }
  return true;
}

const answer = (statusCode, doc) =>
  ({ statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(doc), isBase64Encoded: false });

async function handle(request) {
  const headers = {};
  for (const [k, v] of Object.entries(request.headers || {})) headers[k.toLowerCase()] = v;
  const raw = Buffer.from(request.body || "", request.isBase64Encoded ? "base64" : "utf8");
  try {
    verify(headers, raw);
    const doc = JSON.parse(raw.toString("utf8"));
    const events = Array.isArray(doc) ? doc : [doc];
    const nowMs = Date.now();
    let accepted = 0;
    for (const event of events) if (await apply(event, nowMs)) accepted += 1;
    return answer(200, { accepted, duplicates: events.length - accepted, ignored: 0 });
  } catch (e) {
    if (e instanceof Refused) return answer(e.status, { error: { code: e.code, message: e.message } });
    if (e instanceof SyntaxError || e instanceof TypeError) {
      return answer(400, { error: { code: "malformed", message: e.message } });
    }
    throw e;
  }
}

// The Runtime API loop, over one kept-alive connection.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path: `/2018-06-01/runtime/invocation${path}`, agent,
      headers: body ? { "content-type": "application/json", "content-length": Buffer.byteLength(body) } : {} },
    (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

(async () => {
  for (;;) {
    const next = await call("GET", "/next");
    const id = next.headers["lambda-runtime-aws-request-id"];
    let out, kind = "response";
    try {
      out = JSON.stringify(await handle(JSON.parse(next.body)));
    } catch (e) {
      out = JSON.stringify({ errorMessage: String(e && e.message), errorType: (e && e.name) || "Error" });
      kind = "error";
    }
    await call("POST", `/${id}/${kind}`, out);
  }
})();
