"""Benchmarks of the real prism/prismd binaries against a local moto server.

Usage: .venv/bin/python scripts/bench/bench.py [--bin DIR] [--runs N] [--scale-versions N] [--concurrent-saves N]
Prints Markdown sections for BENCHMARKS.md. Only 127.0.0.1 is contacted.
"""
import argparse
import concurrent.futures
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Bench:
    def __init__(self, bindir):
        self.bindir = bindir
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.work = tempfile.mkdtemp(prefix="prism-bench-")
        env = dict(os.environ, MOTO_AMIS_PATH=os.path.join(ROOT, "tests/fixtures/moto-amis.json"))
        self.moto = subprocess.Popen([os.path.join(ROOT, ".venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        open(os.path.join(self.work, "empty"), "w").close()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(PRISM_HOME=os.path.join(self.work, "home"), AWS_ENDPOINT_URL=self.endpoint,
                        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                        AWS_CONFIG_FILE=os.path.join(self.work, "empty"), AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.work, "empty"),
                        NO_PROXY="127.0.0.1,localhost", PRISM_FAST_POLL="1", NO_COLOR="1",
                        # moto's DescribeImages takes ~23 s per query at 5,000 images, past the
                        # default 30 s once the machine is busy; real EC2 answers in seconds.
                        PRISM_AWS_ATTEMPT_TIMEOUT="600")
        self.ec2 = boto3.client("ec2", endpoint_url=self.endpoint, region_name="us-east-1",
                                aws_access_key_id="testing", aws_secret_access_key="testing")

    def prism(self, *args, check=True):
        p = subprocess.run([os.path.join(self.bindir, "prism"), *args], env=self.env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise SystemExit(f"prism {' '.join(args)} failed: {p.stderr}")
        return p.stdout

    def timed(self, *args):
        t = time.perf_counter()
        self.prism(*args)
        return time.perf_counter() - t

    def daemon_pid(self):
        with open(os.path.join(self.env["PRISM_HOME"], "state", "daemon.json")) as f:
            return json.load(f)["pid"]

    def daemon_peak_rss_mb(self):
        with open(f"/proc/{self.daemon_pid()}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def last_describe_ms(self):
        """How long the last refresh waited for DescribeImages, from the daemon's log line."""
        with open(os.path.join(self.env["PRISM_HOME"], "state", "prismd.log")) as f:
            lines = [l for l in f if "refresh: images described" in l]
        m = re.search(r"elapsed_ms=(\d+)", lines[-1]) if lines else None
        return int(m.group(1)) if m else float("nan")

    def instance_id(self, name):
        r = self.ec2.describe_instances(Filters=[{"Name": "tag:prism:name", "Values": [name]}])
        return r["Reservations"][0]["Instances"][0]["InstanceId"]

    def close(self):
        self.prism("daemon", "stop", check=False)
        self.moto.terminate()


def median_ms(samples):
    return statistics.median(samples) * 1000


def bench_save(b, runs):
    b.prism("launch", "python-ml", "bench-ws")
    iid = b.instance_id("bench-ws")
    prism_t, boto_t = [], []
    for i in range(runs):
        prism_t.append(b.timed("save", "bench-ws", f"bench-env-{i}", "--copy-to-regions", "us-west-2,eu-west-1", "--yes"))
        t = time.perf_counter()
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts/bench/boto3_save.py"), b.endpoint, "us-east-1", iid,
                        f"boto-env-{i}", "us-west-2", "eu-west-1"], check=True, capture_output=True)
        boto_t.append(time.perf_counter() - t)
    p, s = statistics.median(prism_t), statistics.median(boto_t)
    print(f"| `prism save` (2 copy regions), {runs} runs | {p:.2f} s |")
    print(f"| boto3 script, same calls and order, {runs} runs | {s:.2f} s |")
    print(f"| ratio prism / boto3 | {p / s:.2f} |")


def bench_latency(b, runs, label=""):
    rows = []
    for args in (["templates"], ["list", "--no-refresh"], ["template", "info", "python-ml"], ["templates", "--refresh"]):
        samples = [b.timed(*args) for _ in range(runs)]
        rows.append((" ".join(args), median_ms(samples)))
    for cmd, ms in rows:
        print(f"| `prism {cmd}`{label} | {ms:.1f} ms |")


def make_versions(b, n):
    """n saved template versions in the account: images tagged like Prism's saves."""
    iid = b.instance_id("bench-ws")
    t = time.perf_counter()
    for i in range(n):
        name, version = f"scale-{i // 5}", str(i % 5 + 1)
        b.ec2.create_image(InstanceId=iid, Name=f"prism-{name}-v{version}-bench", NoReboot=True, TagSpecifications=[{
            "ResourceType": "image", "Tags": [
                {"Key": "prism:managed", "Value": "true"}, {"Key": "prism:saved-template", "Value": name},
                {"Key": "prism:saved-version", "Value": version}, {"Key": "prism:description", "Value": f"scale test {i}"}]}])
    return time.perf_counter() - t


def bench_scale(b, n, runs):
    made = make_versions(b, n)
    print(f"\n{n} saved versions created in moto in {made:.0f} s.\n")
    print("| measurement | value |\n|---|---:|")
    # Baseline: moto's own time for the DescribeImages calls a refresh makes in us-east-1.
    t = time.perf_counter()
    b.ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["prism:saved-template"]}])
    b.ec2.describe_images(ExecutableUsers=["self"], Filters=[{"Name": "tag-key", "Values": ["prism:saved-template"]}])
    print(f"| baseline: boto3 DescribeImages (the refresh's two queries, us-east-1) | {(time.perf_counter() - t) * 1000:.0f} ms |")
    t = b.timed("templates", "--refresh")
    waited = b.last_describe_ms()
    print(f"| `prism templates --refresh` (first, writes {n} files) | {t * 1000:.0f} ms |")
    print(f"| … of which waiting for moto's DescribeImages (daemon log) | {waited:.0f} ms |")
    print(f"| … Prism's own share (turning {n} images into files, CLI, HTTP) | {t * 1000 - waited:.0f} ms |")
    print(f"| prismd peak RSS after it | {b.daemon_peak_rss_mb():.0f} MiB |")
    samples, own = [], []
    for _ in range(3):
        samples.append(b.timed("templates", "--refresh"))
        own.append(samples[-1] - b.last_describe_ms() / 1000)
    print(f"| `prism templates --refresh` (unchanged, median of 3) | {median_ms(samples):.0f} ms |")
    print(f"| … Prism's own share (median of 3) | {median_ms(own):.0f} ms |")
    samples = [b.timed("templates") for _ in range(runs)]
    print(f"| `prism templates` from the cache (median of {runs}) | {median_ms(samples):.1f} ms |")
    samples = [b.timed("template", "info", "scale-7") for _ in range(runs)]
    print(f"| `prism template info scale-7` (median of {runs}) | {median_ms(samples):.1f} ms |")
    print(f"| prismd peak RSS | {b.daemon_peak_rss_mb():.0f} MiB |")


def bench_catalogue(b, n, runs):
    """n saved versions in the local catalogue (written as a refresh writes them), without
    moto's quadratic DescribeImages in the way: the cost of Prism's own catalogue."""
    d = os.path.join(b.env["PRISM_HOME"], "templates", "discovered")
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        name, version = f"cat-{i // 5}", str(i % 5 + 1)
        with open(os.path.join(d, f"{name}@{version}.yaml"), "w") as f:
            f.write(f"name: {name}\nversion: \"{version}\"\ndescription: scale test {i}\nbase: ami-based\n"
                    f"package_manager: ami\nsource: saved-from-instance\nsaved_from: ws\n"
                    f"ami_config:\n  amis:\n    us-east-1:\n      x86_64: ami-{i:017x}\n")
    first = b.timed("templates")
    samples = [b.timed("templates") for _ in range(runs)]
    info = [b.timed("template", "info", "cat-7") for _ in range(runs)]
    print(f"| `prism templates`, first after {n} versions appeared (loads and parses them) | {first * 1000:.0f} ms |")
    print(f"| `prism templates` from the cached catalogue (median of {runs}) | {median_ms(samples):.1f} ms |")
    print(f"| `prism template info cat-7` (median of {runs}) | {median_ms(info):.1f} ms |")
    print(f"| prismd peak RSS | {b.daemon_peak_rss_mb():.0f} MiB |")


def bench_concurrent(b, n):
    for i in range(n):
        b.prism("launch", "python-ml", f"c-ws-{i}", "--detach")
    deadline = time.time() + 600
    while time.time() < deadline:
        ops = json.loads(b.prism("operations", "--limit", "1000", "-o", "json"))["operations"]
        if all(o["status"] != "running" for o in ops):
            break
        time.sleep(0.2)
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        ids = list(pool.map(lambda i: b.prism("save", f"c-ws-{i}", f"c-env-{i}", "--copy-to-regions", "us-west-2", "--yes", "--detach").strip(), range(n)))
    while time.time() < deadline:
        ops = {o["id"]: o for o in json.loads(b.prism("operations", "--limit", "1000", "-o", "json"))["operations"]}
        done = [ops[i] for i in ids if ops[i]["status"] not in ("running", "compensating")]
        if len(done) == n:
            break
        time.sleep(0.2)
    wall = time.perf_counter() - t
    ok = sum(1 for i in ids if ops[i]["status"] == "succeeded")
    print(f"| {n} saves submitted at once: wall time until all ended | {wall:.1f} s |")
    print(f"| succeeded | {ok} of {n} |")
    print(f"| prismd peak RSS | {b.daemon_peak_rss_mb():.0f} MiB |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/bench/release"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--save-runs", type=int, default=5)
    ap.add_argument("--scale-versions", type=int, default=5000)
    ap.add_argument("--concurrent-saves", type=int, default=50)
    ap.add_argument("--only", choices=["save", "latency", "concurrent", "catalogue", "scale"], help="run one section")
    a = ap.parse_args()
    b = Bench(a.bin)
    try:
        want = lambda s: a.only in (None, s)
        if want("save") or want("scale") or want("catalogue"):
            print("## Save on moto: prism against a boto3 script\n\n| measurement | median |\n|---|---:|")
            bench_save(b, a.save_runs)
        if want("latency"):
            print(f"\n## Command latency (median of {a.runs})\n\n| command | median |\n|---|---:|")
            bench_latency(b, a.runs)
        if want("concurrent"):
            print(f"\n## {a.concurrent_saves} saves at once\n\n| measurement | value |\n|---|---:|")
            bench_concurrent(b, a.concurrent_saves)
        if want("catalogue"):
            print(f"\n## Catalogue with {a.scale_versions} saved versions\n\n| measurement | value |\n|---|---:|")
            bench_catalogue(b, a.scale_versions, a.runs)
        if want("scale"):
            print("\n## Scale: many saved versions in the account (through moto)")
            bench_scale(b, a.scale_versions, a.runs)
    finally:
        b.close()


if __name__ == "__main__":
    main()
