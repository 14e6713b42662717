#!/usr/bin/env python3
"""Signed `json` form events for infra/bench/serve: one line per request,
`<webhook-id>\t<webhook-timestamp>\t<webhook-signature>\t<body>`, each a distinct event signed
now (Standard Webhooks: HMAC-SHA256 of "{id}.{timestamp}.{body}", as `leadscore sign` does).

Usage: serve_requests.py SECRET EVENTS RUN OUT
One event in five makes a new lead; the others go to a lead an earlier event made, drawn at
random: the mix is the same however many of the lines a run sends.
"""
import base64, hashlib, hmac, json, random, sys, time

secret, events, run, out_events = sys.argv[1:5]
events = int(events)
key = base64.b64decode(secret.removeprefix("whsec_"))
kinds = ["site_visit", "email_opened", "email_clicked", "content_downloaded",
         "form_submitted", "newsletter_subscribed", "demo_video_watched", "chatbot_question"]
rng = random.Random(run)
now = int(time.time())
email = lambda n: f"bench{run}-{n}@acme{n % 97}.io"
with open(out_events, "w") as out:
    for i in range(events):
        # Event times spread over the last hour, increasing with i: mostly in order per lead.
        at = now - 3600 + (3600 * i) // events
        body = json.dumps({
            "id": f"evt_{run}_{i}",
            "type": rng.choice(kinds),
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
            "email": email(i // 5 if i % 5 == 0 else rng.randrange(i // 5 + 1)),
        }, separators=(",", ":"))
        msg_id = f"evt_{run}_{i}"
        mac = hmac.new(key, f"{msg_id}.{now}.{body}".encode(), hashlib.sha256).digest()
        out.write(f"{msg_id}\t{now}\tv1,{base64.b64encode(mac).decode()}\t{body}\n")
