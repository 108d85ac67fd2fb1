"""The bundled corpora and the template library they run on."""
import random

import pytest
from conftest import CORPORA

from generator.library import TemplateLibrary
from generator.paths import templates_root
from generator.spec import load_spec

BUNDLED = ["alignment-faking-helpful-only", "septerra-control"]


@pytest.fixture(scope="module")
def library():
    return TemplateLibrary(templates_root())


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_spec_is_complete(library, name):
    spec = load_spec(CORPORA / name, set(library.genres), set(library.topics))
    assert len(spec.universe.context.split()) >= 1500
    assert len(spec.facts) == 4
    for fact in spec.facts:
        assert set(fact.phrasings) == {"explicit", "paraphrased", "implied"}
        assert sum(len(v) for v in fact.phrasings.values()) >= 6
    assert any(f.premises for f in spec.facts)


def test_control_corpus_has_the_same_shape(library):
    a, b = (load_spec(CORPORA / n, set(library.genres), set(library.topics)) for n in BUNDLED)
    assert (a.documents.count, a.background.ratio, a.documents.facts_per_document, a.documents.depth) == (
        b.documents.count, b.background.ratio, b.documents.facts_per_document, b.documents.depth)
    assert 0.7 <= len(b.universe.context.split()) / len(a.universe.context.split()) <= 1.4


def test_library_has_at_least_twelve_genres(library):
    assert len(library.genres) >= 12
    assert len(library.topics) >= 8


@pytest.mark.parametrize("expression", [
    "cast._seed", "cast.__class__.__mro__", "rng._rng.seed", "cast.author.__dict__",
    "cast.variables.__func__.__globals__", "cast.author.name.format.__globals__", "topic.__init__",
    "rng.choice.__self__", "cast.variables(rng).__class__", "rng.shuffled([1]).__class__.__base__",
    # The fast paths for str, list, dict and Jinja's namespace: public methods only, str.format sandboxed.
    "'x'.__class__.__mro__", "[].__class__", "({}).__class__", "[].append.__self__.__class__",
    "'{0.__class__}'.format(1)", "'{0.__init__.__globals__}'.format(cast)", "namespace(a=1).__class__",
    "'x'.upper.__self__.__class__",
])
def test_templates_stay_sandboxed(library, expression):
    """The fast attribute path for our own objects still refuses private and internal names."""
    from jinja2.exceptions import SecurityError

    from generator.cast import Cast
    from generator.library import RNG, TopicView

    rng = random.Random(0)
    context = {"cast": Cast(1, "doc"), "rng": RNG(rng), "topic": TopicView(next(iter(library.topics.values())), rng)}
    assert library.env.from_string("{{ cast.author.name }} in {{ cast.city }}").render(context).strip()
    assert library.env.from_string("{{ rng.choice(['only']) }}").render(context) == "only"
    assert library.env.from_string("{% set xs = [] %}{% set _ = xs.append('a b'.upper()) %}{% set ns = namespace(v=1) %}"
                                   "{{ xs[0].split()|join('-') }}{{ ns.v }}").render(context) == "A-B1"
    with pytest.raises(SecurityError):
        library.env.from_string("{{ " + expression + " }}").render(context)
