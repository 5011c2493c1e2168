"""Articles written for the story tests (our own sentences): one event told several ways, and
other events of the same companies that must stay apart."""

from __future__ import annotations

MISTRAL_EN = {
    "title": "Microsoft takes a $2bn stake in Mistral AI",
    "text": "Microsoft will invest $2bn in Mistral AI, the Paris start-up founded by Arthur "
            "Mensch, the two companies said on Monday. The investment makes Microsoft the "
            "largest outside shareholder of Mistral, whose models will be offered on Azure. "
            "Arthur Mensch said the money would pay for computing power in Europe. Analysts in "
            "London said the deal values the French company at about 12 billion dollars.",
}
MISTRAL_SYNDICATED = {  # the same wire copy, another outlet's headline and footer
    "title": "Mistral AI gets $2bn from Microsoft",
    "text": MISTRAL_EN["text"] + " This story was republished from a partner news service.",
}
MISTRAL_REWRITE = {  # another outlet, its own words
    "title": "Paris AI darling Mistral lands Microsoft money",
    "text": "Mistral AI has secured an investment of 2 billion dollars from Microsoft, according "
            "to people at both companies. Chief executive Arthur Mensch told staff in Paris that "
            "Azure would carry Mistral models to business customers. The investment puts the "
            "value of Mistral at around $12bn, London analysts estimate.",
}
MISTRAL_FR = {
    "title": "Microsoft investit 2 milliards de dollars dans Mistral AI",
    "text": "Microsoft va investir 2 milliards de dollars dans Mistral AI, la start-up "
            "parisienne dirigée par Arthur Mensch. Les modèles de Mistral seront proposés sur "
            "Azure. Selon des analystes à Londres, l'opération valorise la société à environ "
            "12 milliards de dollars.",
}
MISTRAL_DE = {
    "title": "Microsoft steigt mit 2 Milliarden Dollar bei Mistral AI ein",
    "text": "Microsoft investiert 2 Milliarden Dollar in Mistral AI. Das Pariser Start-up von "
            "Arthur Mensch bringt seine Modelle auf Azure. Analysten in London schätzen den Wert "
            "von Mistral auf rund 12 Milliarden Dollar.",
}
G42 = {  # the same company, another investment, the same day
    "title": "Microsoft invests $1.5bn in Abu Dhabi's G42",
    "text": "Microsoft will invest $1.5bn in G42, the artificial intelligence group based in "
            "Abu Dhabi, and Brad Smith will join the board of G42. The investment gives "
            "Microsoft a minority stake; G42 will run its applications on Azure.",
}
CMA_INQUIRY = {  # the regulator's inquiry into the Mistral deal: a new story
    "title": "UK watchdog opens inquiry into Microsoft's Mistral AI deal",
    "text": "The Competition and Markets Authority has opened an inquiry into the partnership "
            "between Microsoft and Mistral AI, asking whether the $2bn stake gives Microsoft "
            "control of the Paris company. The regulator said it would decide within weeks. "
            "Arthur Mensch said Mistral would cooperate with the watchdog.",
}
MISTRAL_ACQUISITION = {  # the same companies, a takeover: a new story
    "title": "Microsoft agrees to buy Mistral AI outright",
    "text": "Microsoft has agreed to buy Mistral AI in a takeover worth 40 billion dollars, the "
            "companies said. The acquisition of the Paris start-up run by Arthur Mensch would "
            "fold Mistral models into Azure, London analysts said.",
}
MISTRAL_HIGHLIGHTS = {  # the editors' highlights of MISTRAL_EN: short, in their own order
    "title": "Big cheque for Mistral",
    "text": "The newcomer's founder will spend the money on computing power. Its models "
            "will be offered in the cloud. The outside shareholder values the young company "
            "highly, analysts said.",
}
G42_HIGHLIGHTS = {  # highlights of another Microsoft investment: must not join MISTRAL_EN
    "title": "Microsoft backs G42",
    "text": "Microsoft puts money into the Abu Dhabi group. Brad Smith joins the board; "
            "applications will run on Azure.",
}
