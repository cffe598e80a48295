#!/usr/bin/env python3
"""Make test/fixtures/metrics/*.json by running the OFFICIAL metric code on hand-designed tricky inputs.

The official files are not part of this repository. Put copies of them in one folder and pass it:

  OFFICIAL/vqaEval.py                 GT-Vision-Lab/VQA PythonEvaluationTools/vqaEvaluation/vqaEval.py
  OFFICIAL/m4c_evaluator.py           NVlabs/VILA llava/eval/m4c_evaluator.py (needs `tqdm` importable)
  OFFICIAL/cider/cider.py, cider_scorer.py   tylin/coco-caption pycocoevalcap/cider/ (needs numpy and
                                      python-future's `past.utils.old_div`)
  OFFICIAL/eval_pope.py               NVlabs/VILA llava/eval/eval_pope.py
  OFFICIAL/eval_science_qa.py         NVlabs/VILA llava/eval/eval_science_qa.py (run as a script)
  OFFICIAL/convert_gqa_for_eval.py    NVlabs/VILA scripts/convert_gqa_for_eval.py (run as a script)

Usage: /usr/bin/python3 scripts/make_metric_fixtures.py --official OFFICIAL [--out test/fixtures/metrics]
Only inputs and the official outputs are written; test/fixtures/metrics/README.md records the commits.
"""

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------- inputs (the tricky cases)

TEN = 10

VQA_CASES = [
    # (name, prediction, ten ground-truth answers)
    ("number word vs digit GT (all agree, GT untouched)", "Two", ["2"] * TEN),
    ("digit prediction vs number-word GT (GT not normalised)", "2", ["two"] * TEN),
    ("mixed GT: punctuation only, no digit pass", "two", ["two", "2", "2", "2", "3", "two", "two", "2", "2", "2"]),
    ("1 match -> 0.3", "red", ["red", "blue", "blue", "blue", "blue", "blue", "blue", "blue", "blue", "blue"]),
    ("2 matches -> 0.6", "red", ["red", "red", "blue", "blue", "blue", "blue", "blue", "blue", "blue", "blue"]),
    ("3 matches -> 0.9", "red", ["red", "red", "red", "blue", "blue", "blue", "blue", "blue", "blue", "blue"]),
    ("4 matches -> 1", "red", ["red", "red", "red", "red", "blue", "blue", "blue", "blue", "blue", "blue"]),
    ("trailing period and capital", "Yes.", ["yes"] * 9 + ["no"]),
    ("exclamation", "Yes!", ["yes"] * TEN),
    ("digit comma digit strips all punctuation", "1,000", ["1000"] * 6 + ["1,000"] * 4),
    ("comma without digits -> space", "red,white", ["red white"] * 5 + ["red and white"] * 5),
    ("comma followed by space -> removed", "red, white", ["red white"] * 5 + ["white"] * 5),
    ("period between digits kept", "3.5", ["3.5"] * 7 + ["3"] * 3),
    ("final period after a number", "3.5.", ["3.5"] * 7 + ["3"] * 3),
    ("articles dropped", "A dog", ["dog"] * 8 + ["a dog"] * 2),
    ("only an article -> empty", "the", ["the"] * 4 + ["a"] * 6),
    ("contraction dont", "Dont", ["don't"] * 5 + ["do not"] * 5),
    ("contraction key with apostrophe maps backwards", "somebody'd", ["somebodyd"] * 3 + ["someone"] * 7),
    ("hyphen inside word -> space", "t-shirt", ["t-shirt"] * 5 + ["tshirt"] * 5),
    ("spaced hyphen -> removed", "hot - dog", ["hot dog"] * 4 + ["hotdog"] * 6),
    ("GT all identical with punctuation is not cleaned", "t-shirt", ["t-shirt"] * TEN),
    ("GT uppercase never matches", "yes", ["Yes"] * TEN),
    ("GT uppercase mixed", "yes", ["Yes"] * 5 + ["yes"] * 5),
    ("many periods: only 32 removed", "a" + "." * 40 + "b", ["ab"] * TEN),
    ("tab and newline", "\tyes\nno ", ["yes no"] * 5 + ["yes"] * 5),
    ("none -> 0", "none", ["0"] * 5 + ["none"] * 5),
    ("ten -> 10, eleven unchanged", "ten eleven", ["10 eleven"] * TEN),
    ("extra spaces collapse", "  a   red  car ", ["red car"] * 4 + ["car"] * 6),
    ("question mark and quotes", '"red"?', ["red"] * TEN),
    ("empty prediction", "", [""] * 3 + ["yes"] * 7),
    ("Unicode digits count as digits", "\u0663,\u0664 apples", ["\u0663\u0664 apples"] * TEN),
    ("apostrophe s kept by vqaEval", "dog's", ["dog's"] * 5 + ["dog"] * 5),
    ("slash", "black/white", ["black white"] * 5 + ["black"] * 5),
    ("fewer than 10 answers", "cat", ["cat", "cat", "dog"]),
    ("brackets and at-sign", "[3] @home", ["3 home"] * TEN),
]

PROCESS_STRINGS = [
    "Two Dogs", "1,000.", "3.5", "red,white", "red, white", "hot-dog", "hot - dog", "Dont", "dog's bowl?", "It's",
    "a.b.c", "1,,2", "somebody'd", "The   answer\tis\nyes", "'twas", "none of them", "x" + "." * 35, "50% (approx)",
    "e.g. this", "Yes!!!", "\u0661,\u0662", "wheres", "Ive", "(a)", "{b}", "<c>", "a_b", "a+b=c", "back\\slash",
]

CIDER_CORPUS = [
    # (image_id, candidate, references) -- all pre-tokenised, lower case
    (1, "a man riding a horse on a beach", ["a man rides a horse on the beach", "a person riding a horse along the shore", "a man on a horse at the beach"]),
    (2, "a a a a a a", ["a dog and a cat", "a cat with a dog"]),
    (3, "", ["an empty plate on a table", "a white plate"]),
    (4, "dog", ["a dog", "a brown dog sitting"]),
    (5, "a white plate on a wooden table next to a glass of water and a fork", ["a white plate"]),
    (6, "a cat with a dog", ["a cat with a dog", "a dog and a cat"]),
    (7, "zebra giraffe elephant", ["two zebras standing in a field"]),
    (8, "a man on a horse at the beach", ["a man on a horse at the beach"]),
    (9, "two two two zebras zebras", ["two zebras standing in a field", "two zebras grazing", "zebras in a field"]),
]

CIDER_SINGLE = [(1, "a dog runs", ["a dog runs", "a dog is running"])]

POPE_CASES = [
    # (question_id, reply, label)
    (1, "Yes", "yes"), (2, "No", "no"), (3, "No.", "yes"), (4, "There is no dog.", "no"), (5, "Yes, there is not", "no"),
    (6, "NO", "no"), (7, "no,", "no"), (8, "Yes. No", "yes"), (9, "not sure", "yes"), (10, "I do not know", "no"),
    (11, "No\nthere", "no"), (12, "Nope", "no"), (13, "Yes, there is a dog in the image.", "yes"), (14, "There is a no-entry sign", "yes"),
    (15, "", "no"), (16, "Certainly.", "yes"),
]

SQA_CHOICES = {
    # problem id: (number of choices, answer index, reply or None for a missing reply, prompt)
    "p01": (3, 0, "A", "<image>\nQ"), "p02": (3, 1, "B.", "<image>\nQ"), "p03": (4, 2, "C. the third", "Q"),
    "p04": (2, 1, "The answer is B.", "<image>\nQ"), "p05": (2, 1, "The answer is B", "Q"),
    "p06": (4, 0, "The answer is A. The answer is B.", "Q"), "p07": (3, 2, "E", "Q"), "p08": (3, 0, "a", "Q"),
    "p09": (3, 0, "(A)", "Q"), "p10": (3, 0, "A)", "Q"), "p11": (3, 0, "Answer: A", "Q"), "p12": (3, 1, None, "Q"),
    "p13": (5, 4, "E.", "Q"), "p14": (2, 0, "C", "Q"), "p15": (3, 1, "I think The answer is B,", "Q"), "p16": (2, 1, "B\n", "Q"),
}

GQA_REPLIES = ["Yes.", "no", "Left..", "The Man.", " dog", "RED", "...", "left side."]

# ---------------------------------------------------------------- running the official code


class _FakeVQA:
    """Just what VQAEval reads: .qa[question_id] and getQuesIds()."""

    def __init__(self, qa):
        self.qa = qa

    def getQuesIds(self):
        return list(self.qa.keys())


def make_vqa(official):
    sys.path.insert(0, official)
    from vqaEval import VQAEval
    from m4c_evaluator import EvalAIAnswerProcessor, TextVQAAccuracyEvaluator

    gts, res = {}, {}
    for qid, (_, pred, answers) in enumerate(VQA_CASES, start=1):
        gts[qid] = {
            "question_id": qid, "image_id": 1000 + qid, "question_type": "what", "answer_type": "other",
            "answers": [{"answer": a, "answer_confidence": "yes", "answer_id": i + 1} for i, a in enumerate(answers)],
        }
        res[qid] = {"question_id": qid, "answer": pred}
    ev = VQAEval(_FakeVQA(gts), _FakeVQA(res), n=15)  # n = digits kept by round(); 15 keeps full precision
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
    proc = EvalAIAnswerProcessor()
    tv = TextVQAAccuracyEvaluator()
    cases = []
    for qid, (name, pred, answers) in enumerate(VQA_CASES, start=1):
        c = {"name": name, "question_id": qid, "prediction": pred, "answers": answers,
             "vqa_eval": {"accuracy_percent": ev.evalQA[qid],
                          "normalized_prediction": ev.processDigitArticle(ev.processPunctuation(pred.replace("\n", " ").replace("\t", " ").strip()))}}
        if len(answers) == 10:
            scores = tv._compute_answer_scores(answers)
            c["textvqa"] = {"accuracy": scores.get(proc(pred), 0.0), "normalized_prediction": proc(pred),
                            "normalized_answers": [proc(a) for a in answers]}
        cases.append(c)
    ten = [(p, a) for (_, p, a) in VQA_CASES if len(a) == 10]
    with contextlib.redirect_stdout(io.StringIO()):
        textvqa_overall = tv.eval_pred_list([{"pred_answer": p, "gt_answers": a} for p, a in ten])
    # vqaEval's own answer post-processing of isolated strings and EvalAI's, for the processors' tests.
    strings = [{"input": s, "vqa_punctuation": ev.processPunctuation(s), "vqa_digit_article": ev.processDigitArticle(s),
                "evalai": proc(s), "evalai_punctuation": proc.process_punctuation(s)} for s in PROCESS_STRINGS]
    return {"vqa_eval_overall_percent": ev.accuracy["overall"], "textvqa_overall": textvqa_overall, "cases": cases, "strings": strings}


def make_cider(official):
    sys.path.insert(0, official)
    from cider.cider import Cider

    def run(corpus):
        gts = {img: refs for img, _, refs in corpus}
        res = {img: [cand] for img, cand, _ in corpus}
        score, scores = Cider().compute_score(gts, res)
        return {"images": [{"image_id": img, "candidate": cand, "references": refs} for img, cand, refs in corpus],
                "corpus": float(score), "per_image": {str(img): float(s) for (img, _, _), s in zip(corpus, scores)}}

    return {"corpora": {"main": run(CIDER_CORPUS), "single_image": run(CIDER_SINGLE)}}


def make_pope(official):
    sys.path.insert(0, official)
    from eval_pope import eval_pope

    with tempfile.TemporaryDirectory() as d:
        label_file = os.path.join(d, "coco_pope_test.json")
        with open(label_file, "w") as f:
            for qid, _, label in POPE_CASES:
                f.write(json.dumps({"question_id": qid, "label": label}) + "\n")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            eval_pope([{"question_id": qid, "text": t} for qid, t, _ in POPE_CASES], label_file)
    lines = out.getvalue().splitlines()
    tp, fp, tn, fn = (int(x) for x in lines[1].split("\t")[:4])
    value = {l.split(": ")[0]: float(l.split(": ")[1]) for l in lines[2:6]}
    return {"cases": [{"question_id": q, "text": t, "label": l} for q, t, l in POPE_CASES],
            "official": {"tp": tp, "fp": fp, "tn": tn, "fn": fn, "accuracy": value["Accuracy"], "precision": value["Precision"],
                         "recall": value["Recall"], "f1": value["F1 score"]}}


def make_scienceqa(official):
    with tempfile.TemporaryDirectory() as d:
        problems = {pid: {"choices": [f"choice {i}" for i in range(n)], "answer": ans} for pid, (n, ans, _, _) in SQA_CHOICES.items()}
        json.dump(problems, open(os.path.join(d, "problems.json"), "w"))
        json.dump({"test": list(SQA_CHOICES)}, open(os.path.join(d, "pid_splits.json"), "w"))
        with open(os.path.join(d, "answers.jsonl"), "w") as f:
            for pid, (_, _, text, prompt) in SQA_CHOICES.items():
                if text is not None:
                    f.write(json.dumps({"question_id": pid, "text": text, "prompt": prompt}) + "\n")
        subprocess.run([sys.executable, os.path.join(official, "eval_science_qa.py"), "--base-dir", d, "--result-file",
                        os.path.join(d, "answers.jsonl"), "--output-file", os.path.join(d, "out.json"),
                        "--output-result", os.path.join(d, "result.json")], check=True, stdout=subprocess.DEVNULL)
        result = json.load(open(os.path.join(d, "result.json")))
        analysis = json.load(open(os.path.join(d, "out.json")))
    parsed = {a["question_id"]: a["parsed_ans"] for a in analysis["correct"] + analysis["incorrect"]}
    return {"problems": problems, "split": list(SQA_CHOICES),
            "predictions": [{"question_id": pid, "text": t, "prompt": p} for pid, (_, _, t, p) in SQA_CHOICES.items() if t is not None],
            "official": {"acc": result["acc"], "correct": result["correct"], "count": result["count"], "pred_idx": result["results"], "parsed": parsed}}


def make_gqa(official):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "src.jsonl"), "w") as f:
            for i, t in enumerate(GQA_REPLIES):
                f.write(json.dumps({"question_id": str(i), "text": t}) + "\n")
        subprocess.run([sys.executable, os.path.join(official, "convert_gqa_for_eval.py"), "--src", os.path.join(d, "src.jsonl"),
                        "--dst", os.path.join(d, "dst.json")], check=True)
        out = json.load(open(os.path.join(d, "dst.json")))
    return {"cases": [{"text": t, "prediction": o["prediction"]} for t, o in zip(GQA_REPLIES, out)]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", required=True, help="folder holding copies of the official metric files")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "metrics"))
    args = ap.parse_args()
    official = os.path.abspath(args.official)
    os.makedirs(args.out, exist_ok=True)
    for name, fn in [("vqa", make_vqa), ("cider", make_cider), ("pope", make_pope), ("scienceqa", make_scienceqa), ("gqa", make_gqa)]:
        data = fn(official)
        path = os.path.join(args.out, f"{name}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(data, f, indent=1, ensure_ascii=True)
            f.write("\n")
        os.replace(path + ".tmp", path)
        print("wrote", path)


if __name__ == "__main__":
    main()
