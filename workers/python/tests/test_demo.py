"""``python3 -m stop_task_worker.demo`` against a stack file: it seeds a task, and a real stop halts it."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from conftest import Stack, TypeScriptSide


def test_the_demo_prints_the_stop_it_receives(stack: Stack, ts: TypeScriptSide, tmp_path: Path) -> None:
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps({**stack, "api_url": "http://127.0.0.1:9"}))
    worker_id = f"py-demo-{uuid.uuid4().hex[:8]}"
    demo = subprocess.Popen(
        [sys.executable, "-m", "stop_task_worker.demo", "--stack-file", str(stack_file), "--worker-id", worker_id,
         "--tasks", "1", "--step-ms", "50", "--heartbeat-ms", "500", "--poll-wait-seconds", "1", "--organization", "org-a"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ},
    )
    lines: "queue.Queue[str]" = queue.Queue()
    assert demo.stdout is not None
    stdout = demo.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    seen: list[str] = []

    def wait_for(pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            for line in seen:
                match = re.search(pattern, line)
                if match:
                    return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {pattern!r} in:\n{''.join(seen)}")
            try:
                seen.append(lines.get(timeout=remaining))
            except queue.Empty:
                pass

    try:
        task_id = wait_for(r'task started \{"task_id":"([0-9a-f-]+)"').group(1)
        wait_for("listening for stops")
        assert ts.stop(task_id) == 200
        wait_for(r'stop received \{"task_id":"%s"' % task_id)
        wait_for(r'stop acknowledged \{"task_id":"%s","result":"acknowledged"' % task_id)
        wait_for(r'task ended \{"task_id":"%s","end":"stopped"' % task_id)
        assert demo.wait(timeout=20) == 0, "".join(seen)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
