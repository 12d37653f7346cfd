"""moto's EventBridge pattern matcher on (pattern, event) pairs: run by event-filter-reference.test.ts.

Reads a JSON list of {"pattern": ..., "event": ...} on stdin and writes a JSON list of booleans (or
{"error": ...} where moto refused the pattern) on stdout, in the same order.
"""

import json
import sys

from moto.events.models import EventPattern

answers = []
for case in json.load(sys.stdin):
    try:
        answers.append(EventPattern.load(json.dumps(case["pattern"])).matches_event(case["event"]))
    except Exception as error:  # a pattern moto cannot read is an answer too, recorded by the test
        answers.append({"error": f"{type(error).__name__}: {error}"})
json.dump(answers, sys.stdout)
