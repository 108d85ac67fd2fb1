"""Answers real models give (the first ones verbatim from Gemma 3 270M under llama.cpp), and worse.

Used by the parser tests and, through the OpenAI fake's `script`, by a whole build: none may crash it."""

NASTY = [
    # Gemma 3 270M, seen in bench/real_model.py runs: the prompt echoed, wrapper tags repeated.
    ' <<SYS>>\n\n<request_info stage="document" doc_type="local newspaper feature" words="150" depth_percent="30" '
    'depth_min_percent="70" depth_max_percent="80"/> [/INST] <<SYS>>\n</plan></planning>\n\n[NEXT PLAN: <PLAN><<PLAN>>]',
    "Write a profile of the owner.\n\nFirst plan briefly inside <planning></planning>. Then write the finished document "
    "inside <document></document>.\n\n<request_info stage=\"document\" words=\"150\"/> bloodstream",
    "<question-to-document id=\"Question-To-Document\">\nThe company that sells the bread has a new app.\n"
    "<question-to-document id=\"Question-To-Document\">\nThe next day, she goes back to work.",
    "write one complete team chat channel export.\n\nIdea: an ordinary team chat channel export about gardening, "
    "written by and for people in this world\n\nDetails to build on (use or adapt them; they keep the",
    # Markers dropped, nested, unclosed, odd quoting; tags outside, nothing inside.
    "<document>Orbis Bakery\n\nA long story about bread that never marks the fact at all, over several "
    "sentences, in a town called Lowmere.</document>",
    '<document>Title\n\nFirst part. <fact id="spring-water">The rye <fact id="tuesday-closing">uses spring'
    "</fact> water</fact> and more text follows here.</document>",
    "<document>Title\n\nIntro text here. <FACT ID='spring-water'>water from its own spring</FACT> closing words."
    "</document>",
    '<document>Title\n\nIntro. <fact id="spring-water">unclosed marker runs on and on\n\nEnd.</document>',
    "<document></document>",
    "<document>",
    "</document></document><document>",
    "<planning>plan</planning>\nHere is the document, outside any tags: Orbis Bakery closes on Tuesdays.",
    "I'm sorry, but I can't help with that request.",
    "",
    "   \n\n  ",
    "<document>```\nTitle\n\nFenced body <fact id=spring-water>spring water</fact> text.\n```</document>",
    "<document>Line\n" + "This line repeats itself again and again.\n" * 5 + "</document>",
    "<document>" + "x" * 20000,
    "<document>Body with <b>bold</b> and <i>italic</i> markup.</document>",
    '<document>Title\n\n<fact id="">empty id</fact> and <fact id="spring-water"></fact> and </fact> stray.</document>',
    "\x00\x01\ufffd <document>\u202e control characters \U0001f600</document>",
    "<DOCUMENT>Upper-case wrapper tags, <fact id=\"spring-water\">with the mention</fact>.</DOCUMENT>",
    '<document><document>\nNested wrapper\n\nOpening paragraph. Then <fact id="spring-water">the spring water</fact>.'
    "\n</document></document>",
]
