"""Scores `mlnet-transfer check --json` or a `train` run's metrics.json against a split's truth.json (or against none:
a clean split) and prints one JSON line: label errors flagged, precision, recall, suggested class right, copies found,
duplicates and leaks flagged; for a train run also its test accuracy, log-loss and the images it left out.
Usage: score.py <check.json | metrics.json> [truth.json]"""
import json
import sys

report = json.load(open(sys.argv[1]))
trained = "dataIssues" in report  # a train run's metrics.json
if trained:
    health = report["dataHealth"]
    report = {"issues": report["dataIssues"], "images": health["trainImages"], "testImages": health["testImages"],
              "run": {"microAccuracy": report["test"]["microAccuracy"], "logLoss": report["test"]["logLoss"],
                      "strategy": report["training"]["strategy"], "trainedOn": report["training"]["images"],
                      "excluded": health["excludedFromTraining"], "checkSeconds": health["seconds"],
                      "trainSeconds": report["timings"]["trainSeconds"]}}
issues = report["issues"]
truth = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {"flipped": [], "copies": []}
flipped = {f["path"]: f["true"] for f in truth["flipped"]}
copies = {c["path"]: c["test"] for c in truth["copies"]}
errors = [i for i in issues if i["kind"] == "labelError"]
right = [i for i in errors if i["path"] in flipped]
leaks = [i for i in issues if i["kind"] == "leak"]
found = {i["path"] for i in leaks if copies.get(i["other"]) == i["path"]}
print(json.dumps({
    "images": report["images"], "testImages": report["testImages"],
    "labelErrorsFlagged": len(errors), "labelErrorsRight": len(right),
    "precision": round(len(right) / len(errors), 3) if errors and flipped else None,
    "recall": round(len(right) / len(flipped), 3) if flipped else None,
    "suggestedRight": sum(1 for i in right if flipped[i["path"]] == i["suggested"]),
    "copiesFound": len(found), "copies": len(copies),
    "leaksFlagged": len(leaks), "duplicatesFlagged": sum(1 for i in issues if i["kind"] == "duplicate"),
    "outliersFlagged": sum(1 for i in issues if i["kind"] == "outlier"),
    **({"train": report["run"]} if trained else {}),
}))
