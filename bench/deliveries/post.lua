-- wrk: POST a webhook-sized JSON body, as the deliverer does, to the local receiver.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id": "1042", "type": "experiment.status_changed", "level": "info", ' ..
           '"created_at": "2026-11-30T02:00:00.000000Z", "organization": null, "experiment": "bench-17", ' ..
           '"data": {"experiment": "bench-17", "organization": null, "from": "running", "to": "paused"}}'
