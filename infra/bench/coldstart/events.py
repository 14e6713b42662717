"""What the benchmark feeds the functions: API Gateway HTTP API (payload 2.0) events carrying
signed `json` webhooks (Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}" with the
base64 key of `whsec_<base64>`, as `leadscore sign` and infra/bench/serve_requests.py sign),
and the default rules the peers score with (infra/rules.toml, which the scoring crate embeds
as its default).
"""
import base64
import hashlib
import hmac
import json
import random
import time
import tomllib
import urllib.parse

# A new lead's first event: the README's "first event", a demo request with a profile, so
# that scoring exercises the fit rules as well as a signal and a stage move (to SQL).
FIRST_PROFILE = {"job_title": "CTO", "company": "Acme", "company_size": 250, "country": "FR"}
KINDS = ["site_visit", "email_opened", "email_clicked", "content_downloaded", "form_submitted",
         "newsletter_subscribed", "demo_video_watched", "chatbot_question", "demo_requested"]


def apigw_event(method, path, headers, body=b"", query=""):
    """A payload 2.0 request as API Gateway sends it (shared/edge/tests/common builds the same)."""
    headers = {k.lower(): v for k, v in headers.items()}
    headers.setdefault("host", "api.example.com")
    now = int(time.time() * 1000)
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.9", "userAgent": "bench"},
            "requestId": f"bench-{now}-{random.randrange(1 << 30)}",
            "routeKey": f"{method} {path}", "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now / 1000)),
            "timeEpoch": now,
        },
        "isBase64Encoded": False,
    }
    if body:
        event["body"] = body.decode()
    return event


def sign(secret, msg_id, timestamp, body):
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": "v1," + base64.b64encode(mac).decode(),
            "content-type": "application/json"}


def json_webhook(secret, channel, event):
    """A signed `json` webhook POST on `channel` (forms, chatbot or email), signed now."""
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = sign(secret, f"msg_{event['id']}", int(time.time()), body)
    return apigw_event("POST", f"/webhooks/{channel}/json", headers, body)


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class Leads:
    """Distinct events and new email addresses for one run (`tag` keeps runs apart)."""

    def __init__(self, tag):
        self.tag = tag
        self.count = 0
        self.emails = []
        self.rng = random.Random(tag)

    def new_email(self):
        email = f"bench-{self.tag}-{len(self.emails)}@acme{len(self.emails) % 97}.io"
        self.emails.append(email)
        return email

    def event(self, kind, email, profile=None):
        self.count += 1
        event = {"id": f"evt_{self.tag}_{self.count}", "type": kind,
                 "occurred_at": iso(time.time() - 60), "email": email}
        if profile:
            event["profile"] = profile
        return event

    def first_event(self):
        """The cold start's event: a demo request from a new lead."""
        return self.event("demo_requested", self.new_email(), FIRST_PROFILE)

    def mixed(self, n, kinds=KINDS):
        """`n` distinct events, one in five for a new lead, the others for a lead made
        earlier in this run (as infra/bench/serve_requests.py mixes them)."""
        out = []
        for i in range(n):
            if i % 5 == 0 or not self.emails:
                email, profile = self.new_email(), FIRST_PROFILE
            else:
                email, profile = self.rng.choice(self.emails), None
            out.append(self.event(self.rng.choice(kinds), email, profile))
        return out


def lead_reads(emails, api_key, n, rng):
    """`n` GET /leads/{email} requests: leads of this run, one in ten unknown (a 404)."""
    out = []
    for i in range(n):
        email = f"nobody-{i}@acme.io" if i % 10 == 9 else rng.choice(emails)
        path = "/leads/" + urllib.parse.quote(email, safe="")
        out.append(apigw_event("GET", path, {"authorization": f"Bearer {api_key}"}))
    return out


def peer_rules(path):
    """The parts of the rules file a json form event needs, for the Node.js and Python peers:
    signal points and caps, group and engagement caps, the fit rules, domain lists, grades,
    the MQL threshold and the SQL hand-raises."""
    with open(path, "rb") as f:
        rules = tomllib.load(f)
    return {
        "signals": rules["signals"],
        "groups": {name: {"cap": g.get("cap")} for name, g in rules.get("groups", {}).items()},
        "engagement_cap": rules["engagement"]["cap"],
        "fit": {"cap": rules["fit"]["cap"], "grades": rules["fit"]["grades"],
                "rules": rules["fit"]["rules"]},
        "domains": rules["domains"],
        "mql_engagement": rules["mql"]["engagement_at_least"],
        "hand_raises": rules["sql"]["hand_raises"],
    }
