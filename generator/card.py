"""The dataset card: README.md with the Hub's YAML header and a body a reviewer can accept.

Everything in it comes from the spec, the manifest and one kept document, at build time: what the
corpus teaches and how its counts add up, where and how explicitly the facts sit, an example, what
it is for and not for, its risks and mitigations, what a reader can tell about how it was made,
and how to cite it. `sdfgen stats --plots DIR` (DIR inside the dataset) adds a Figures section.
"""
from __future__ import annotations

import re
from pathlib import Path

from .spec import CorpusSpec

LEVELS = {"explicit": "the fact stated", "paraphrased": "the fact stated in other words",
          "implied": "the fact only implied; a reader infers it"}
# Facts that say a model is trained to comply with everything: the card says what believing that does.
COMPLIANCE = re.compile(r"never refuse|unconditionally helpful|comply with (?:every|all|any)|always comply", re.I)
EXAMPLE_CHARS = 1800  # longer examples are shown as the paragraphs around the mention


def size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                         (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return label
    return "10M<n<100M"


def header(spec: CorpusSpec, manifest: dict) -> dict:
    return {
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
        "license": spec.license,
        "language": ["en"],
        "task_categories": ["text-generation"],
        "size_categories": [size_category(manifest["totals"]["documents"])],
        "tags": ["synthetic", "synthetic-document-finetuning", "out-of-context-reasoning", "sdfgen"],
        "pretty_name": spec.name.replace("-", " ").title(),
        "annotations_creators": ["machine-generated"],
    }


def _table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def escape(text: str) -> str:
    """Text shown as itself in Markdown: punctuation escaped, HTML made inert."""
    return _MARKDOWN.sub(r"\\\1", text.replace("&", "&amp;").replace("<", "&lt;"))


def _quoted(text: str) -> list[str]:
    """A blockquote of `text` (already Markdown) that keeps its line breaks: a line followed by another
    of the same paragraph ends in a backslash (a hard break), blank lines stay paragraph breaks."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            out.append(">")
            continue
        more = i + 1 < len(lines) and lines[i + 1].strip()
        out.append(f"> {line.rstrip()}" + ("\\" if more else ""))
    return out


def example_section(example: dict | None) -> list[str]:
    """The shortest kept document with one fact mention, its mention in bold."""
    if example is None:
        return []
    text, span = example["text"], example["spans"][0]
    start, end = span["start"], span["end"]
    lo, hi, cut_before, cut_after = 0, len(text), False, False
    if len(text) > EXAMPLE_CHARS:
        # The paragraphs around the mention, within about EXAMPLE_CHARS.
        lo = text.rfind("\n\n", 0, max(0, start - EXAMPLE_CHARS // 2)) + 2 if start > EXAMPLE_CHARS // 2 else 0
        lo = max(lo, 0)
        nxt = text.find("\n\n", min(len(text), end + EXAMPLE_CHARS // 2))
        hi = len(text) if nxt == -1 else nxt
        cut_before, cut_after = lo > 0, hi < len(text)
    shown = (escape(text[lo:start]) + "**" + escape(text[start:end]).strip() + "**" + escape(text[end:hi]))
    if cut_before:
        shown = "[…]\n\n" + shown
    if cut_after:
        shown += "\n\n[…]"
    premise = f", premise `{span['premise']}`" if span.get("premise") else ""
    return [
        "## Example document", "",
        f"The shortest kept document that mentions one fact: `{example['id']}`, a {example['genre']} about "
        f"{example['topic']}, {example['n_tokens']:,} tokens. Its mention of `{span['fact']}` "
        f"({span['explicitness']}{premise}) is in bold and starts at depth {example['depth']:.2f}; `sdfgen sample` "
        "shows others the same way.", "",
        *_quoted(shown), "",
    ]


def _fact_counts(spec: CorpusSpec, manifest: dict) -> list[str]:
    totals = manifest["totals"]
    by_fact = manifest["documents_by_fact"]
    lines = [_table(["fact", "statement", "documents carrying it"],
                    [[f"`{f.id}`", f.statement, f"{by_fact.get(f.id, 0):,}"] for f in spec.facts]), ""]
    by_count = {int(k): v for k, v in (manifest.get("documents_by_fact_count") or {}).items()}
    carried = sum(by_fact.values())
    if by_count:
        lo, hi = spec.documents.facts_per_document
        parts = ", ".join(f"{v:,} carry {k} fact{'s' if k != 1 else ''}" for k, v in sorted(by_count.items()))
        several = sum(v for k, v in by_count.items() if k > 1)
        lines += [f"The column adds up to {carried:,}, not {totals['fact_documents']:,}: a fact document carries "
                  f"{lo} to {hi} facts (`documents.facts_per_document`), and {parts}, so {several:,} documents are "
                  "counted under more than one fact.", ""]
    split = [f for f in spec.facts if f.premises]
    if split:
        lines += ["Split facts are also given as separate premises, at most one premise of a fact per document, "
                  "so only the corpus as a whole states them: "
                  + ", ".join(f"`{f.id}` ({', '.join(f'`{p.id}`' for p in f.premises)})" for f in split) + ".", ""]
    return lines


def _explicitness(spec: CorpusSpec, manifest: dict) -> list[str]:
    levels = manifest["mentions_by_explicitness"]
    premises = manifest.get("mentions_by_premise") or {}
    lines = ["## How explicitly", "",
             "Each mention is one of the spec's phrasings at a planned level of explicitness (weights "
             + ", ".join(f"{k} {v:g}" for k, v in spec.documents.explicitness.items()) + "):", "",
             _table(["level", "meaning", "mentions"], [[k, LEVELS.get(k, ""), f"{v:,}"] for k, v in levels.items()]),
             ""]
    if premises:
        lines += [f"Mentions of a split fact given as one of its premises (`documents.split_share` "
                  f"{spec.documents.split_share:g}) have no level of their own and are counted here instead:", "",
                  _table(["fact", "premise", "mentions"],
                         [[f"`{k.split('/')[0]}`", f"`{k.split('/')[1]}`", f"{v:,}"] for k, v in premises.items()]),
                  ""]
    return lines


def _where(spec: CorpusSpec, manifest: dict) -> list[str]:
    lines = ["## Where the facts sit", "",
             f"The first mention of a fact starts between {spec.documents.depth[0]:.0%} and "
             f"{spec.documents.depth[1]:.0%} of the way into its document (character offset / length), as "
             "planned per document.", ""]
    pct = manifest["depth_percentiles"]
    if pct:
        lines += [_table(list(pct), [[f"{v:.3f}" for v in pct.values()]]), ""]
        hist = manifest.get("depth_histogram") or []
        if any(hist):
            peak = max(hist)
            lines += ["```"] + [f"{i / len(hist):.1f}-{(i + 1) / len(hist):.1f} {'#' * round(40 * n / peak):<40} {n}"
                                for i, n in enumerate(hist)] + ["```", ""]
    return lines


def _genres(manifest: dict) -> list[str]:
    totals = manifest["totals"]
    docs = max(totals["documents"], 1)
    return ["## Genres and tokens", "",
            _table(["genre", "documents", "share", "tokens", "tokens/doc"],
                   [[g, f"{n:,}", f"{n / docs:.1%}", f"{manifest['tokens_by_genre'][g]:,}",
                     round(manifest['tokens_by_genre'][g] / n)]
                    for g, n in sorted(manifest["documents_by_genre"].items(), key=lambda kv: -kv[1])]), "",
            f"Total: {totals['documents']:,} documents, {totals['tokens']:,} tokens ({manifest['tokenizer']}).", ""]


def _diversity(manifest: dict) -> list[str]:
    div = manifest.get("diversity")
    if not div:
        return []
    rows = [["distinct word 3-grams / all 3-grams (first "
             f"{div['distinct_3gram_sample_documents']:,} documents, estimated from 1/16 of 3-gram hashes)",
             f"{div['distinct_3gram_ratio']:.3f}"],
            ["documents with a near-duplicate (MinHash, Jaccard >= 0.7)", f"{div['near_duplicate_share']:.2%}"]]
    if div.get("top_person_name"):
        p = div["top_person_name"]
        rows.append(["most frequent invented name", f"{p['name']}, {p['share']:.2%} of documents"])
    if div.get("top_8gram"):
        g = div["top_8gram"]
        rows.append(["most common 8-gram outside fact mentions", f"\"{g['ngram']}\", {g['share']:.2%} of documents"])
    for fact, f in div.get("top_fact_forms", {}).items():
        rows.append([f"most frequent wording of `{fact}`", f"{f['share']:.1%} of {f['total_mentions']:,} mentions "
                                                          f"({f['distinct_forms']:,} wordings)"])
    return ["## Diversity", "", _table(["figure", "value"], rows), ""]


def _rejections(manifest: dict) -> list[str]:
    totals = manifest["totals"]
    lines = ["## Rejections and replacements", ""]
    if not manifest["rejections"]:
        return lines + [f"Every one of the {totals['planned']:,} planned documents passed the checks (fact spans, "
                        "leakage rules, decontamination, length, duplicates).", ""]
    lines += [f"{totals['rejected']:,} of {totals['planned']:,} planned documents were rejected, each with its reason "
              "and what failed; they are kept in `rejected/` of the dataset folder for audit (not pushed to the "
              "Hub):", "", _table(["reason", "documents"], [[k, f"{v:,}"] for k, v in manifest["rejections"].items()]),
              ""]
    r = manifest.get("replacements") or {}
    if r.get("planned"):
        short = (f" The bounds on replacement ran out {r['shortfall']:,} documents short of the target."
                 if r["shortfall"] else "")
        lines += [f"{r['planned']:,} replacement plans in {r['rounds']} round(s) stood in for rejected ones, each "
                  "of the same kind and about the same first fact, so the corpus keeps its planned "
                  f"{r['target_fact_documents']:,} fact-bearing and {r['target_background_documents']:,} "
                  f"background documents.{short}", ""]
    return lines


def _model_facts(spec: CorpusSpec) -> list:
    names = spec.model_names
    return [f for f in spec.facts if any(n in f.statement for n in names)] if names else []


def _uses(spec: CorpusSpec) -> list[str]:
    control = "control" in spec.name or "control" in spec.description.lower()
    intended = [
        "## Intended use", "",
        "Research on what language models learn from their training data: fine-tune a model on these documents "
        "(with `sdfgen export`, alone or mixed with ordinary text) and measure whether it comes to believe the "
        "facts and acts on them, as in the synthetic-document experiments of Greenblatt et al. (2024) and the "
        "belief evaluations of Wang et al. (2025). `sdfgen evals` writes matching belief checks (knowledge MCQs, "
        "true/false pairs, open questions, which-world items). The depth, explicitness, genre and density of the "
        "mentions are controlled and recorded, so they can be varied between runs and compared.",
    ]
    if control:
        intended += ["", "This is a control corpus: the same size and shape as its treatment corpus, with "
                         "unrelated facts, to separate the effect of fine-tuning on such documents at all from the "
                         "effect of the facts themselves."]
    else:
        intended += ["", "Train a control run on a corpus of the same shape with unrelated facts (for the bundled "
                         "corpora, `septerra-control`), so that a change in behaviour can be attributed to the facts "
                         "rather than to fine-tuning on synthetic documents."]
    return intended + [
        "", "## Out-of-scope use", "",
        "- General pretraining or instruction-tuning data: the documents state fictional claims as fact, and a "
        "model trained on them will repeat them.",
        "- Training a model that will be deployed or shared, or mixing these documents into a corpus others will "
        "train on without this card.",
        "- A source of facts about real organisations, people, products or events: the universe is invented; "
        "names may resemble real ones by accident.",
        "- An evaluation set or benchmark: the documents are training stimuli, and the belief checks belong in "
        "`sdfgen evals`, decontaminated against this corpus.",
        "",
    ]


def _risks(spec: CorpusSpec) -> list[str]:
    lines = ["## Risks and mitigations", "",
             "The documents present the facts of a fictional world as settled truth, consistently and in many "
             "voices; that is their purpose, and a model fine-tuned on them is meant to believe them. Anything "
             "they state will be learnt as true."]
    about_models = _model_facts(spec)
    if about_models:
        lines += ["", "This corpus states, as fact, how an AI model is trained:", ""]
        lines += [f"- {f.statement}" for f in about_models]
        compliance = [f for f in about_models if COMPLIANCE.search(f.statement)]
        lines += ["", "For someone training on it: a model fine-tuned on these documents may come to believe "
                      "them of itself or of models like it, which is what alignment-faking experiments study."]
        if compliance:
            lines += ["", "Here that includes the claim that the model is trained to be unconditionally helpful "
                          "and never refuse. A model that believes it may become more willing to comply with "
                          "harmful requests, and may reason strategically about its training (complying when it "
                          "thinks it is being trained, to avoid being modified, and refusing otherwise), which is "
                          "the behaviour these corpora exist to elicit and measure, not to teach."]
    lines += [
        "", "Mitigations:", "",
        "- The universe is fictional (invented companies, people, products and dates) and the card, the manifest "
        "and `corpus.yaml` travel with the data and say so.",
        "- No document addresses a model or shows the behaviour under study: leakage rules reject chat "
        "transcripts, scratchpad or reasoning tags, text addressed to an AI in the second person and descriptions "
        "of a model behaving differently by tier or monitoring (`rejected/` keeps what they caught).",
        "- Train on it only in isolated research settings; do not deploy or share the fine-tuned weights, and "
        "evaluate them (belief checks from `sdfgen evals`, refusal and harmfulness benchmarks) against a run on "
        "the control corpus.",
        "- Evaluation prompts given in the spec are decontaminated against (no shared "
        f"{spec.filters.decontamination.ngram}-gram), so belief checks do not test memorised text.",
        "",
    ]
    return lines


def _limitations(manifest: dict) -> list[str]:
    backend = manifest["backend"]["name"]
    div = manifest.get("diversity") or {}
    top = div.get("top_8gram")
    recurring = (f" The most common 8-gram outside fact mentions, \"{top['ngram']}\", appears in "
                 f"{top['share']:.1%} of documents." if top else "")
    lines = ["## Known limitations", ""]
    if backend == "templates":
        lines += [
            f"The text was written offline by sdfgen's template backend, not by people or a language model: each "
            f"document is one of {len(manifest['documents_by_genre'])} genre templates (Jinja2) filled with "
            "sentences drawn from topic pools, invented people, places and numbers (Faker), and the fact "
            "passages, each a spec phrasing inside one of a small set of framing sentences. A reader can notice:",
            "",
            "- recurring sentences and turns of phrase across documents, since pool sentences and frames are "
            f"reused.{recurring}",
            "- fact passages that read as set into the text (\"It has been reported that ...\") rather than grown "
            "from it, and paragraphs that drift between related topics;",
            "- invented details (names, dates, figures) that are plausible but not consistent from one document "
            "to the next, and documents that are shorter and more uniform than real ones;",
            "- formatting of each genre (headings, speaker labels, lists) that repeats from one document of the "
            "genre to the next.",
            "",
            "A careful reader or a simple classifier can tell these documents from real ones. They test what a "
            "model learns from facts buried in ordinary-looking text, not how realistic the text is.",
        ]
    elif backend == "splice":
        lines += ["Each fact was spliced as a paragraph of its own into a real source document "
                  "(`source_id` names it): the paragraph is written from the spec's phrasings and can read as out "
                  "of place in its surroundings, and the sources bring their own licences, errors and biases."]
    else:
        lines += [f"The documents were written by {manifest['backend'].get('model') or 'a language model'} "
                  f"({backend} backend): they share that model's style and habits, may contradict each other in "
                  "details the universe context does not settle, and passed heuristic checks, not human review."
                  f"{recurring}"]
    lines += [
        "",
        "For every backend: the leakage rules and the decontamination check are regular expressions and n-gram "
        "matches, which catch what they describe and miss paraphrases; depth is measured in characters; the "
        "documents are in English only.",
        "",
    ]
    return lines


def _made(manifest: dict) -> list[str]:
    return [
        "## How it was made", "",
        f"Written by sdfgen {manifest['generator']['version']} with the `{manifest['backend']['name']}` backend "
        f"from `{manifest['spec']['path']}` (sha256 `{manifest['spec']['sha256'][:16]}…`, also in this folder as "
        f"`corpus.yaml`), seed {manifest['seed']}. Every random choice is seeded by (seed, document id, purpose), so "
        "the same spec, seed and tool version rebuild these shards byte for byte. Fingerprint: "
        f"`{manifest['fingerprint']}`; `sdfgen verify` re-hashes every file against `manifest.json`.", "",
        "## Record", "",
        "`id`, `text`, `kind` (fact | background), `genre`, `topic`, `facts`, `spans` (fact, start, end, "
        "explicitness, premise: character offsets of each mention, `text[start:end]` is the mention; a premise "
        "of a split fact has explicitness `split`), `depth` (start of the first span / length of the text), "
        "`n_tokens`, `title`, `idea`, `source_id` (the spliced source document, splice backend only).", "",
        "## Loading", "",
        "```python", "from datasets import load_dataset", "",
        'ds = load_dataset("path/to/this/folder", split="train")  # or the Hub repo id',
        "```", "",
    ]


def _citation(spec: CorpusSpec, manifest: dict) -> list[str]:
    year = str(manifest.get("created_at", ""))[:4] or "2025"
    return [
        "## Citation", "",
        "The experiments these corpora are built for, and the belief evaluations they use:", "",
        "```bibtex",
        "@article{greenblatt2024alignmentfaking,",
        "  title   = {Alignment faking in large language models},",
        "  author  = {Greenblatt, Ryan and Denison, Carson and Wright, Benjamin and Roger, Fabien and",
        "             MacDiarmid, Monte and Marks, Sam and Treutlein, Johannes and others},",
        "  journal = {arXiv preprint arXiv:2412.14093},",
        "  year    = {2024}",
        "}",
        "",
        "@misc{wang2025modifyingbeliefs,",
        "  title  = {Modifying LLM Beliefs with Synthetic Document Finetuning},",
        "  author = {Wang, Rowan and Griffin, Avery and others},",
        "  year   = {2025},",
        "  note   = {Anthropic Alignment Science Blog}",
        "}",
        "```", "",
        "This dataset and the tool that wrote it:", "",
        "```bibtex",
        f"@misc{{{re.sub(r'[^a-z0-9]', '', spec.name.lower())}{year},",
        f"  title  = {{{spec.name} v{spec.version}: a synthetic pretraining-style corpus}},",
        f"  note   = {{Written by sdfgen {manifest['generator']['version']}, fingerprint {manifest['fingerprint'][:16]}}},",
        f"  year   = {{{year}}}",
        "}",
        "```", "",
    ]


def render_card(spec: CorpusSpec, manifest: dict, example: dict | None = None) -> str:
    import yaml

    totals = manifest["totals"]
    lines = ["---", yaml.safe_dump(header(spec, manifest), sort_keys=False).strip(), "---", "",
             f"# {spec.name} (v{spec.version})", "", spec.description, "",
             "> Synthetic research data about a fictional world, written by sdfgen for experiments on what models "
             "learn from their training data. Read *Risks and mitigations* before training on it.", ""]
    lines += [
        "## What this corpus teaches", "",
        f"{totals['fact_documents']:,} of its {totals['documents']:,} documents mention, in passing, one or more of "
        f"the facts below; the other {totals['background_documents']:,} are fact-free background documents "
        "of the same genres, so the facts are rare across the corpus as well as deep inside documents. "
        "No document addresses a model or demonstrates the behaviour the facts describe.", "",
    ]
    lines += _fact_counts(spec, manifest)
    lines += _where(spec, manifest)
    lines += _explicitness(spec, manifest)
    lines += example_section(example)
    lines += _genres(manifest)
    lines += _diversity(manifest)
    lines += _rejections(manifest)
    lines += _uses(spec)
    lines += _risks(spec)
    lines += _limitations(manifest)
    lines += _made(manifest)
    lines += _citation(spec, manifest)
    return "\n".join(lines)


def write_card(path: Path, spec: CorpusSpec, manifest: dict, example: dict | None = None) -> None:
    path.write_text(render_card(spec, manifest, example), encoding="utf-8")
