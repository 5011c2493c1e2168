"""Weights of the cues in ``disambiguate.py``: written by
``tests/bench/fit_entity_weights.py`` (logistic regression on labelled sentences;
threshold chosen for precision first). Do not edit by hand: re-run the script."""

BIAS = 0.762
THRESHOLD = 0.85
WEIGHTS: dict[str, float] = {
    'company_verb': 2.157,
    'business_noun': 1.962,
    'context_sentence': 1.949,
    'preposition_before': 1.741,
    'possessive_business': 1.644,
    'verb_before': 1.589,
    'verb_after': 1.164,
    'capital_initial': 1.069,
    'name_list': 1.016,
    'capital_mid': 0.867,
    'capital_after': 0.612,
    'other_company': 0.198,
    'exchange': 0.187,
    'lower_case': 0.135,
    'possessive': 0.084,
    'all_caps_word': 0.025,
    'legal_suffix': 0.024,
    'determiner': 0.023,
    'all_caps': -0.004,
    'capital_before': -1.252,
    'person_title': -1.341,
    'pronoun_after': -1.44,
    'quoted': -1.612,
    'no_context': -1.695,
    'headline': -1.838,
    'sense_sentence': -3.072,
}
