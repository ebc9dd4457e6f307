"""How text from users is balanced and isolated: one table of cases that both homes of the
rule are held to, `service/text.py` (pages the server writes) and the dashboard's
`static/js/dom.js` (what its scripts write), so that the two cannot drift apart."""

RLO, PDF, LRI, PDI, FSI = "\u202e", "\u202c", "\u2066", "\u2069", "\u2068"

# (text, balanced)
BALANCED = [
    ("bolt", "bolt"),
    (f"bolt{RLO}", f"bolt{RLO}{PDF}"),  # an override left open is closed
    (f"a{PDI}{RLO}b", f"a{RLO}b{PDF}"),  # a stray PDI would close the page's isolate
    (f"a{PDF}b", "ab"),  # a stray PDF too
    (f"{RLO}{LRI}x{PDF}", f"{RLO}{LRI}x{PDI}{PDF}"),  # a PDF inside an isolate closes nothing
    (f"{LRI}{RLO}x{PDI}y", f"{LRI}{RLO}x{PDI}y"),  # a PDI closes the embeddings inside it
    ("خدش", "خدش"),
]
# (text, isolated): only text holding something right-to-left is isolated.
ISOLATED = [
    ("Bolts <batch 7>", "Bolts <batch 7>"),
    ("خدش", f"{FSI}خدش{PDI}"),
    (f"Line 3 {RLO}week 47", f"{FSI}Line 3 {RLO}week 47{PDF}{PDI}"),
    ("\u200fmark", f"{FSI}\u200fmark{PDI}"),
    ("𐤀 Phoenician", f"{FSI}𐤀 Phoenician{PDI}"),
]
