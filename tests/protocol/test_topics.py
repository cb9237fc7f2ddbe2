from ronde.protocol.topics import TopicKind, gateway_topic, parse_topic, subscription


def test_round_trip() -> None:
    topic = gateway_topic("gw-equipe-a", TopicKind.VISIT)
    assert topic == "ronde/v1/gw/gw-equipe-a/visit"
    parsed = parse_topic(topic)
    assert parsed is not None
    assert parsed.gateway_id == "gw-equipe-a"
    assert parsed.kind is TopicKind.VISIT


def test_foreign_topics_are_none() -> None:
    for topic in [
        "",
        "ronde/v1/gw/a",
        "ronde/v2/gw/a/visit",
        "ronde/v1/gw/A/visit",
        "ronde/v1/gw/a/other",
        "x/v1/gw/a/visit",
        "ronde/v1/gw/a/visit/extra",
        "ronde/v1/gw//visit",
    ]:
        assert parse_topic(topic) is None, topic


def test_shared_subscription() -> None:
    assert subscription(TopicKind.VISIT) == "$share/ingest/ronde/v1/gw/+/visit"
    assert subscription(TopicKind.STATUS, shared=False) == "ronde/v1/gw/+/status"
