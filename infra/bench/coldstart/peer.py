"""The Python 3.11 + boto3 peer of `form-submission` (infra/bench/run, issue 14): what a team
would write instead, doing the same work for a signed `json` form event. It verifies the
Standard Webhooks signature, derives the lead id (HMAC-SHA256 of "email:<address>" with
LEADSCORE_LEAD_ID_KEY), appends the ledger entry (a conditional PutItem: the key is the
deduplication), reads the lead back (one consistent Query of `by-arrival`), scores it with
the default rules (passed as JSON in BENCH_RULES) and writes the stage entry (one PutItem whose
condition checks the erasure time the stage item mirrors): the calls form-submission makes for
a new lead.

Its own Runtime API loop (as small as the Lambda runtime's): client built at init, as usual.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import time

import boto3

RULES = json.loads(os.environ["BENCH_RULES"])
SECRET = base64.b64decode(os.environ["LEADSCORE_SECRET_JSON"].removeprefix("whsec_"))
LEAD_KEY = os.environ["LEADSCORE_LEAD_ID_KEY"].strip().encode()
TABLE = os.environ.get("LEADSCORE_TABLE", "leadscore")
TOLERANCE_S = 300
dynamodb = boto3.client("dynamodb")


class Refused(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code = status, code


def verify(headers, body):
    msg_id, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not ts.isdigit() or abs(time.time() - int(ts)) > TOLERANCE_S:
        raise Refused(401, "unauthorized", "missing or stale webhook headers")
    mac = hmac.new(SECRET, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    for part in headers.get("webhook-signature", "").split():
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return
    raise Refused(401, "unauthorized", "bad signature")


def lead_id(email):
    digest = hmac.new(LEAD_KEY, f"email:{email}".encode(), hashlib.sha256).hexdigest()
    return "ld_" + digest[:32]


def domain_kind(email):
    domain = email.rsplit("@", 1)[1]
    for kind in ("competitor", "disposable", "free"):
        if any(domain == d or domain.endswith("." + d) for d in RULES["domains"][kind]):
            return kind
    return "corporate"


def fit_of(profile, email):
    fields = dict(profile, email_domain_kind=domain_kind(email))
    total = 0
    for rule in RULES["fit"]["rules"]:
        value = fields.get(rule["field"])
        if value is None:
            continue
        if "contains" in rule:
            words = str(value).lower().replace("-", " ").split()
            text = " ".join(words)
            hit = any(f" {w} " in f" {text} " for w in rule["contains"])
        elif "one_of" in rule:
            hit = str(value).lower() in rule["one_of"]
        elif "equals" in rule:
            hit = str(value).lower() == rule["equals"]
        elif "range" in rule:
            lo, hi = rule["range"].get("min"), rule["range"].get("max")
            hit = isinstance(value, int) and (lo is None or value >= lo) and (hi is None or value <= hi)
        else:
            hit = False
        total += rule["points"] if hit else 0
    return max(min(total, RULES["fit"]["cap"]), -RULES["fit"]["cap"])


def score(entries):
    """Engagement (points per signal, per-signal, group and total caps), fit from the latest
    profile, the grade, and the stage the history reaches."""
    per_signal, groups, profile, email, kinds = {}, {}, {}, "", set()
    for entry in sorted(entries, key=lambda e: e["event"]["occurred_at"]):
        event = entry["event"]
        rule = RULES["signals"].get(event["type"])
        kinds.add(event["type"])
        email = event.get("email", email)
        profile.update(event.get("profile") or {})
        if rule:
            got = per_signal.get(event["type"], 0) + rule["points"]
            cap = rule.get("cap")
            per_signal[event["type"]] = min(got, cap) if cap and got > 0 else got
    for kind, points in per_signal.items():
        group = RULES["signals"][kind].get("group")
        groups[group] = groups.get(group, 0) + points
    engagement = 0
    for group, points in groups.items():
        cap = (RULES["groups"].get(group) or {}).get("cap") if group else None
        engagement += min(points, cap) if cap else points
    engagement = min(engagement, RULES["engagement_cap"])
    fit = fit_of(profile, email)
    grades = RULES["fit"]["grades"]
    grade = next((g for g in ("A", "B", "C") if fit >= grades[g]), "D")
    if kinds & set(RULES["hand_raises"]):
        stage = "sql"
    elif engagement >= RULES["mql_engagement"]:
        stage = "mql"
    else:
        stage = "lead"
    return {"fit": fit, "engagement": engagement, "total": fit + engagement, "grade": grade,
            "stage": stage}


def apply(event, now_ms):
    """One event: True if new, False if a duplicate."""
    email = event["email"].strip().lower()
    lead = lead_id(email)
    event_id = f"json:{event['id']}"  # ids are per source, as the store keeps them
    pk, key = f"LEAD#{lead}", f"{now_ms:020d}#{event_id}"
    applied_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms / 1000)) + f".{now_ms % 1000:03d}Z"
    entry = json.dumps({"applied_at": applied_at, "event": event}, separators=(",", ":"))
    try:
        dynamodb.put_item(
            TableName=TABLE, ConditionExpression="attribute_not_exists(pk)",
            Item={"pk": {"S": pk}, "sk": {"S": f"E#{event_id}"}, "lsi1sk": {"S": f"A#{key}"},
                  "entry": {"S": entry}})
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    items = dynamodb.query(
        TableName=TABLE, IndexName="by-arrival", KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}}, ScanIndexForward=False,
        ConsistentRead=True, Limit=64)["Items"]
    entries = [json.loads(i["entry"]["S"]) for i in items if "entry" in i]
    listed = next((i["stage"]["S"] for i in items if i["sk"]["S"] == "STAGE" and "stage" in i), None)
    scored = score(entries)
    if scored["stage"] != listed:
        folded = str(len(entries))
        dynamodb.put_item(
            TableName=TABLE,
            ConditionExpression="(attribute_not_exists(pk) OR folded <= :f)"
                                " AND attribute_not_exists(erased_at)",
            ExpressionAttributeValues={":f": {"N": folded}},
            Item={"pk": {"S": pk}, "sk": {"S": "STAGE"}, "lsi1sk": {"S": "~STAGE"},
                  "stage": {"S": scored["stage"]},
                  "gsi1pk": {"S": f"STAGE#{scored['stage']}"},
                  "gsi1sk": {"S": f"{now_ms:020d}#{lead}"}, "folded": {"N": folded}})
    return True


def handle(request):
    headers = {k.lower(): v for k, v in (request.get("headers") or {}).items()}
    body = request.get("body") or ""
    raw = base64.b64decode(body) if request.get("isBase64Encoded") else body.encode()
    try:
        verify(headers, raw)
        doc = json.loads(raw)
        events = doc if isinstance(doc, list) else [doc]
        now_ms = int(time.time() * 1000)
        new = sum(1 for event in events if apply(event, now_ms))
        return answer(200, {"accepted": new, "duplicates": len(events) - new, "ignored": 0})
    except Refused as e:
        return answer(e.status, {"error": {"code": e.code, "message": str(e)}})
    except (ValueError, KeyError, TypeError) as e:
        return answer(400, {"error": {"code": "malformed", "message": str(e)}})


def answer(status, doc):
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(doc), "isBase64Encoded": False}


def main():
    api = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
    base = "/2018-06-01/runtime/invocation"
    while True:
        api.request("GET", f"{base}/next")
        got = api.getresponse()
        request_id = got.getheader("Lambda-Runtime-Aws-Request-Id")
        payload = got.read()
        try:
            out, path = json.dumps(handle(json.loads(payload))), "response"
        except Exception as e:  # noqa: BLE001 - reported to the runtime as Lambda does
            out, path = json.dumps({"errorMessage": str(e), "errorType": type(e).__name__}), "error"
        api.request("POST", f"{base}/{request_id}/{path}", out,
                    {"Content-Type": "application/json"})
        api.getresponse().read()


if __name__ == "__main__":
    main()
