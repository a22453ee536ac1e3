"""Load on the CDS Hooks service: N order-sign requests, C at a time, over loopback only.
Prints p50/p99 latency, errors and the server's memory before and after; not a test.

Run:  pip install -e '.[serve,test]'; python bench/cds_load.py [N] [C] [WORKERS]
(default 2000 16, and the service's default number of worker processes)
Goal (issue #19): order-sign p99 < 100 ms, 0 errors, memory flat.

The server is the real CLI (`ketadose serve --port 0 --jwks FILE [--workers W]`) in its own
process, bound to 127.0.0.1; each request carries its own ES384 JWT (signed before timing starts)
and a prefetch built from the shipped example patient. Also printed: the CPU time the service
(server and worker processes) spent per request, which depends much less than latency on what
else the machine is doing, and the load average before the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
C = int(sys.argv[2]) if len(sys.argv) > 2 else 16
WORKERS = sys.argv[3] if len(sys.argv) > 3 else None
ISS = "https://ehr.example.org/"
SID = "ketadose-order-sign"


def family(pid) -> list:
    """The server process and its worker processes."""
    out = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            out += [int(c) for c in fh.read().split()]
    return out


def rss_kb(pid) -> int:
    total = 0
    for p in family(pid):
        with open(f"/proc/{p}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def cpu_s(pid) -> float:
    """User + system CPU seconds of the server and its workers."""
    ticks = 0
    for p in family(pid):
        with open(f"/proc/{p}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


async def run(url, tokens, bodies):
    """C keep-alive connections, each request written in one piece and its response read in
    full: a minimal HTTP/1.1 client, so that the client's own cost does not dominate the timing
    on a small machine (httpx used about one core by itself)."""
    host, port = url.split("//")[1].split(":")
    latencies, errors = [], []
    queue = asyncio.Queue()
    for i in range(len(tokens)):
        queue.put_nowait(i)

    async def worker():
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while not queue.empty():
                i = queue.get_nowait()
                body = bodies[i % len(bodies)]
                head = (f"POST /cds-services/{SID} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                        f"Authorization: Bearer {tokens[i]}\r\nContent-Type: application/json"
                        f"\r\nContent-Length: {len(body)}\r\n\r\n").encode()
                t0 = time.perf_counter()
                writer.write(head + body)
                await writer.drain()
                status = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                data = await reader.readexactly(length)
                latencies.append((time.perf_counter() - t0) * 1000)
                if b" 200 " not in status or b'"cards"' not in data:
                    errors.append(status.decode().strip())
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(C)))
    return latencies, errors


def main():
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    from cds_requests import dumps, ketamine_order, request

    key = ec.generate_private_key(ec.SECP384R1())
    pub = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    pub.update(kid="k1", alg="ES384")
    with tempfile.TemporaryDirectory() as tmp:
        jwks = os.path.join(tmp, "jwks.json")
        with open(jwks, "w") as fh:
            json.dump({"issuers": {ISS: {"keys": [pub]}}}, fh)
        extra = ["--workers", WORKERS] if WORKERS is not None else []
        proc = subprocess.Popen([sys.executable, "-m", "ketadose", "serve", "--host", "127.0.0.1",
                                 "--port", "0", "--jwks", jwks, "--audit-log",
                                 os.path.join(tmp, "a.jsonl"), *extra],
                                stderr=subprocess.PIPE, text=True)
        try:
            line = proc.stderr.readline()
            url = line.split("listening on ")[1].split()[0]
            bodies = [dumps(request(orders=[ketamine_order(rate_mg_h=r)])) for r in (None, 20, 300)]
            now = int(time.time())
            tokens = [jwt.encode({"iss": ISS, "aud": f"{url}/cds-services/{SID}", "iat": now,
                                  "exp": now + 600, "jti": str(uuid.uuid4())}, key,
                                 algorithm="ES384", headers={"kid": "k1"}) for _ in range(N)]
            warm, tokens = tokens[:50], tokens[50:]
            asyncio.run(run(url, warm, bodies))
            before = rss_kb(proc.pid)
            load = os.getloadavg()[0]
            workers = len(family(proc.pid)) - 1
            cpu0 = cpu_s(proc.pid)
            t0 = time.perf_counter()
            lat, errors = asyncio.run(run(url, tokens, bodies))
            wall = time.perf_counter() - t0
            cpu = cpu_s(proc.pid) - cpu0
            after = rss_kb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    q = statistics.quantiles(lat, n=100)
    print(f"order-sign: {len(lat)} requests, {C} concurrent, {wall:.1f} s "
          f"({len(lat) / wall:.0f}/s); {workers} worker process(es); {os.cpu_count()} cores, "
          f"load average {load:.2f} at the start")
    print(f"latency p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, max {max(lat):.1f} ms "
          f"(goal: p99 < 100 ms)")
    print(f"errors: {len(errors)}" + (f" {sorted(set(map(str, errors)))}" if errors else ""))
    print(f"service CPU: {cpu * 1000 / len(lat):.2f} ms per request (server and workers)")
    print(f"service RSS (server and workers): {before / 1024:.1f} MB before, "
          f"{after / 1024:.1f} MB after ({(after - before) / 1024:+.1f} MB)")


if __name__ == "__main__":
    main()
