"""Slack request signatures (pure: no database)."""

from __future__ import annotations

import time

import pytest

from polos.exceptions import SlackSignatureError
from polos.notifiers import verify_slack_signature
from polos.notifiers.signature import slack_signature

pytestmark = pytest.mark.once
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"payload=%7B%22type%22%3A%22block_actions%22%7D"


def test_a_valid_signature_passes():
    ts = str(int(time.time()))
    verify_slack_signature(SECRET, ts, BODY, slack_signature(SECRET, ts, BODY))


def test_slacks_documented_example():
    # The example request of Slack's "Verifying requests from Slack" guide.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    verify_slack_signature(SECRET, "1531420618", body, signature, now=1531420618 + 10)


@pytest.mark.parametrize(
    ("secret", "age", "body", "message"),
    [
        ("another-secret", 0, BODY, "does not match"),
        (SECRET, 301, BODY, "more than 300 s"),
        (SECRET, -400, BODY, "more than 300 s"),
        (SECRET, 0, BODY + b"&extra=1", "does not match"),
    ],
    ids=["wrong-secret", "stale", "from-the-future", "altered-body"],
)
def test_bad_requests_are_refused(secret, age, body, message):
    ts = str(int(time.time()) - age)
    signed = slack_signature(secret, ts, BODY)
    with pytest.raises(SlackSignatureError, match=message) as info:
        verify_slack_signature(SECRET, ts, body, signed)
    assert info.value.code == "slack_signature_invalid"


def test_missing_headers_and_secret():
    with pytest.raises(SlackSignatureError, match="no X-Slack-Signature"):
        verify_slack_signature(SECRET, None, BODY, None)
    with pytest.raises(SlackSignatureError, match="not a number"):
        verify_slack_signature(SECRET, "yesterday", BODY, "v0=00")
    with pytest.raises(SlackSignatureError, match="no Slack signing secret"):
        verify_slack_signature("", "1", BODY, "v0=00")
