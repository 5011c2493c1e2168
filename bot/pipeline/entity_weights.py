"""Weights of the cues in ``disambiguate.py``: written by
``tests/bench/fit_entity_weights.py`` (logistic regression on labelled sentences;
threshold chosen for precision first). Do not edit by hand: re-run the script."""

BIAS = 1.122
THRESHOLD = 1.035
WEIGHTS: dict[str, float] = {
    'company_verb': 2.115,
    'business_noun': 2.018,
    'context_sentence': 1.765,
    'possessive_business': 1.614,
    'preposition_before': 1.607,
    'verb_before': 1.427,
    'capital_initial': 1.192,
    'verb_after': 1.033,
    'name_list': 0.998,
    'capital_mid': 0.963,
    'capital_after': 0.61,
    'exchange': 0.239,
    'other_company': 0.22,
    'all_caps': 0.068,
    'possessive': 0.025,
    'all_caps_word': 0.024,
    'legal_suffix': 0.02,
    'lower_case': -0.029,
    'determiner': -0.098,
    'sense_article': -0.567,
    'sense_next_to_name': -0.785,
    'person_title': -1.334,
    'pronoun_after': -1.437,
    'capital_before': -1.441,
    'quoted': -1.636,
    'headline': -1.782,
    'no_context': -2.005,
    'sense_sentence': -2.9,
}
