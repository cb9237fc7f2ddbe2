"""Field records over real HTTP on loopback (issue 14): from a device's POST of a technical report to the
report being in its landlord's queue, through a real uvicorn server on the operational database (SQLite).

    .venv/bin/python bench/bench_field.py [--repeat N]

Times, per report: the POST (201) alone, then POST + the landlord's GET of its queue until the report shows
(the server side of "tap to landlord queue"; the phone's own queue and radio are the PWA's part). Also the
same POST replayed (the offline queue sending twice: 200) and a 3-Mpx photo upload (re-encoded, EXIF removed).
Prints p50 and p95 in milliseconds; asserts nothing (figures, not tests).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.api.field_support import field_app, jpeg_with_gps, ulid
from tests.api.support import NOW, PH_CP
from tests.support.services import free_port


def _ms(samples: list[float]) -> str:
    s = sorted(samples)
    return f"p50 {statistics.median(s) * 1000:.1f} ms, p95 {s[int(0.95 * (len(s) - 1))] * 1000:.1f} ms (n={len(s)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gen = field_app(Path(tmp))
        fa = next(gen)
        _, token = fa.enrol()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(fa.app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        device = {"Authorization": f"Bearer {token}"}
        landlord = {"Authorization": "Bearer tok-ph"}
        post, to_queue, replay = [], [], []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(args.repeat):
                record_id = ulid()
                body = {
                    "id": record_id,
                    "created_at": NOW.isoformat(),
                    "place": {"checkpoint": PH_CP},
                    "category": "eclairage",
                }
                t0 = time.perf_counter()
                r = http.post("/api/v1/terrain/reports", json=body, headers=device)
                t1 = time.perf_counter()
                assert r.status_code == 201, r.text
                while record_id not in http.get("/api/v1/field/records", params={"limit": 5}, headers=landlord).text:
                    pass
                t2 = time.perf_counter()
                r = http.post("/api/v1/terrain/reports", json=body, headers=device)
                t3 = time.perf_counter()
                assert r.status_code == 200
                post.append(t1 - t0)
                to_queue.append(t2 - t0)
                replay.append(t3 - t2)
            photo = jpeg_with_gps((2000, 1500))
            uploads = []
            for _ in range(max(5, args.repeat // 20)):
                body = {"id": ulid(), "created_at": NOW.isoformat(), "place": {"checkpoint": PH_CP}, "category": "tags"}
                http.post("/api/v1/terrain/reports", json=body, headers=device)
                t0 = time.perf_counter()
                r = http.put(
                    f"/api/v1/terrain/reports/{body['id']}/photo",
                    content=photo,
                    headers={**device, "Content-Type": "image/jpeg"},
                )
                uploads.append(time.perf_counter() - t0)
                assert r.status_code == 201, r.text
        server.should_exit = True
        thread.join(10)
        for _ in gen:
            pass
    print(f"POST report (201):                 {_ms(post)}")
    print(f"POST → in the landlord's queue:    {_ms(to_queue)}")
    print(f"replayed POST (200, idempotent):   {_ms(replay)}")
    print(f"photo 2000×1500 JPEG upload (201): {_ms(uploads)} ({len(photo) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
