"""Routing is pure: matches x subscriptions -> who gets the alert, and why."""

from __future__ import annotations

from bot.domain.alert import Destination, Match, MatchResult, Subscription, Summary
from bot.domain.article import Article
from bot.pipeline.route import build_alert, fires, pick_evidence, route

NVIDIA_FUNDING = MatchResult(
    companies=("Nvidia",), topics=("Funding",),
    matches=(Match("company", "Nvidia", "Nvidia", "title", 0, 6, "Nvidia raises."),
             Match("company", "Nvidia", "NVDA", "text", 10, 14, "NVDA up."),
             Match("topic", "Funding", "raises", "title", 7, 13, "Nvidia raises.")))


def dest(i: int, *subs: Subscription, active: bool = True) -> Destination:
    return Destination(id=i, tenant="local", address=f"console:{i}", subscriptions=subs,
                       active=active)


def test_subscription_kinds() -> None:
    assert fires(Subscription(company="nvidia"), NVIDIA_FUNDING)  # names fold case
    assert fires(Subscription(company="*"), NVIDIA_FUNDING)
    assert fires(Subscription(topic="Funding"), NVIDIA_FUNDING)
    assert fires(Subscription(company="Nvidia", topic="Funding"), NVIDIA_FUNDING)
    assert not fires(Subscription(company="Nvidia", topic="Layoffs"), NVIDIA_FUNDING)
    assert not fires(Subscription(company="Airbus"), NVIDIA_FUNDING)
    topic_only = MatchResult(topics=("Funding",))
    assert not fires(Subscription(company="*"), topic_only)
    assert fires(Subscription(topic="Funding"), topic_only)


def test_route_lists_every_reason_and_skips_stopped_destinations() -> None:
    a = dest(1, Subscription(company="Nvidia"), Subscription(topic="Funding"))
    b = dest(2, Subscription(company="Airbus"))
    c = dest(3, Subscription(company="*"), active=False)
    assert route(NVIDIA_FUNDING, [a, b, c]) == ((a, ("Nvidia", "Funding")),)
    assert route(MatchResult(), [a]) == ()


def test_evidence_keeps_one_hit_per_company_and_topic() -> None:
    picked = pick_evidence(NVIDIA_FUNDING.matches)
    assert [(m.kind, m.alias) for m in picked] == [("company", "Nvidia"), ("topic", "raises")]


def test_build_alert_carries_what_the_sinks_need() -> None:
    article = Article(key="guid:1", story="url:https://n.example.com/1", feed_url="f",
                      url="https://n.example.com/1", title="Nvidia raises", text="...")
    d = dest(1, Subscription(company="Nvidia"))
    alert = build_alert(article, "News", NVIDIA_FUNDING, Summary(("One.", "Two.")), d, ("Nvidia",))
    assert alert.summary == "One. Two." and alert.story == article.story
    assert alert.hit_sentence == "Nvidia raises." and alert.destination == "console:1"
