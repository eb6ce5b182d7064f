"""A squad's webhook reaches only public addresses, is a secret of its tech leads, and
cannot make Slack mention the channel or show a link of the user's making.

Names are resolved through the suite's table (the `resolver` fixture), and the
only listener any test here posts to is on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse

from notifications import egress, tasks, webhooks
from notifications.models import WebhookDelivery
from planning import services
from squads.models import Squad
from tests.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

API = "/api/v1"

REFUSED_URLS = [
    "http://127.0.0.1:8000/hook",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://192.168.1.20/hook",
    "http://172.16.5.4/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://240.0.0.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:a9fe:a9fe]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[::]/hook",
    "http://[64:ff9b::a00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://localhost/hook",
    "http://internal.corp.test/hook",  # resolves to a private address (below)
    "ftp://hooks.example.com/hook",
    "file:///etc/passwd",
]


@pytest.fixture(autouse=True)
def internal_name(resolver):
    resolver["internal.corp.test"] = ["10.1.2.3"]
    # Answers with a public and a private address: either could be posted to.
    resolver["split.example.net"] = ["93.184.215.14", "192.168.0.7"]


@pytest.fixture
def api(db):
    from rest_framework.test import APIClient

    def client_for(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return client_for


# Which addresses are forbidden ------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.251", "239.255.255.250", "240.0.0.1",
        "255.255.255.255", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
        "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:a00:1::",
        "2001:db8::1", "fec0::1",
    ],
)  # fmt: skip
def test_addresses_off_the_public_internet_are_forbidden(address):
    assert egress.forbidden(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address):
    assert not egress.forbidden(ipaddress.ip_address(address))


# Refused when saved ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_the_api_refuses_a_webhook_to_a_forbidden_address(api, squad, tech_lead, url):
    answer = api(tech_lead).patch(f"{API}/squads/{squad.slug}/", {"webhook_url": url})

    assert answer.status_code == 400, answer.content
    [message] = answer.json()["webhook_url"]
    assert message
    assert Squad.objects.get(pk=squad.pk).webhook_url == ""


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/hook", "http://10.0.0.1/", "http://169.254.169.254/"]
)
def test_the_settings_form_refuses_a_webhook_to_a_forbidden_address(
    client_for, squad, tech_lead, url
):
    page = client_for(tech_lead).post(
        reverse("squads:settings", args=[squad.slug]), settings_form(squad, webhook_url=url)
    )

    assert page.status_code == 200
    errors = page.context["form"].errors
    assert list(errors) == ["webhook_url"]
    assert "loopback, private, link-local or reserved" in errors["webhook_url"][0]
    assert Squad.objects.get(pk=squad.pk).webhook_url == ""


def test_a_name_with_a_private_address_among_its_answers_is_refused(api, squad, tech_lead):
    answer = api(tech_lead).patch(
        f"{API}/squads/{squad.slug}/", {"webhook_url": "https://split.example.net/hook"}
    )

    assert answer.status_code == 400
    assert "192.168.0.7" in answer.json()["webhook_url"][0]


def test_a_name_that_does_not_resolve_is_refused_with_a_word_on_why(api, squad, tech_lead):
    answer = api(tech_lead).patch(
        f"{API}/squads/{squad.slug}/", {"webhook_url": "https://nowhere.example.org/hook"}
    )

    assert answer.status_code == 400
    assert "could not be found" in answer.json()["webhook_url"][0]


def test_a_public_webhook_is_saved(api, squad, tech_lead):
    answer = api(tech_lead).patch(
        f"{API}/squads/{squad.slug}/", {"webhook_url": "https://hooks.example.com/services/T0/B0"}
    )

    assert answer.status_code == 200
    assert answer.json()["webhook_url"] == "https://hooks.example.com/services/T0/B0"


def test_a_deployment_that_allows_private_hooks_saves_one(api, squad, tech_lead, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True

    answer = api(tech_lead).patch(
        f"{API}/squads/{squad.slug}/", {"webhook_url": "http://internal.corp.test/hook"}
    )

    assert answer.status_code == 200
    # Schemes stay http(s) whatever the deployment allows.
    refused = api(tech_lead).patch(f"{API}/squads/{squad.slug}/", {"webhook_url": "ftp://x.y/"})
    assert refused.status_code == 400


def test_the_admin_refuses_a_forbidden_webhook(client_for, squad, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "x")
    url = reverse("admin:squads_squad_change", args=[squad.pk])
    data = {
        "name": squad.name, "slug": squad.slug, "description": "", "breakout_mode": "engineer",
        "remind_after_days": 3, "escalate_after_days": 7, "vendor_followup_days": 5,
        "min_review_approvals": 2, "webhook_url": "http://169.254.169.254/",
        "webhook_secret": squad.webhook_secret,
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
    }  # fmt: skip

    page = client_for(admin).post(url, data)

    assert page.status_code == 200
    assert "webhook_url" in page.context["adminform"].form.errors
    assert Squad.objects.get(pk=squad.pk).webhook_url == ""


def settings_form(squad, **changes) -> dict:
    return {
        "name": squad.name,
        "description": squad.description,
        "breakout_mode": squad.breakout_mode,
        "remind_after_days": squad.remind_after_days,
        "escalate_after_days": squad.escalate_after_days,
        "vendor_followup_days": squad.vendor_followup_days,
        "min_review_approvals": squad.min_review_approvals,
        "webhook_url": squad.webhook_url,
        **changes,
    }


# Refused when sent ------------------------------------------------------------------------------


@pytest.fixture
def listener():
    """A loopback listener that must receive nothing."""
    server = Receiver()
    yield server
    server.close()


def stored_delivery(squad, url: str) -> WebhookDelivery:
    """A delivery whose URL was stored without the check (an older row, or a name that changed)."""
    return WebhookDelivery.objects.create(
        squad=squad, event="test.event", url=url, payload={"text": "Hello"}
    )


def test_a_name_that_now_resolves_to_loopback_is_refused_before_any_connection(
    squad, listener, resolver, monkeypatch
):
    resolver["hooks.rebound.example"] = ["127.0.0.1"]
    connections = []
    monkeypatch.setattr(egress, "create_connection", lambda *a, **k: connections.append(a))
    delivery = stored_delivery(
        squad, f"http://hooks.rebound.example:{listener.server.server_port}/"
    )

    assert tasks.deliver_webhook.apply(args=[delivery.pk]).get() is False

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error.startswith(
        "Refused: hooks.rebound.example (127.0.0.1) is a loopback"
    )
    assert connections == []
    assert listener.requests == []


@pytest.mark.parametrize(
    "answers", [["10.0.0.1"], ["169.254.169.254"], ["93.184.215.14", "127.0.0.1"], ["::1"]]
)
def test_any_forbidden_answer_refuses_the_send(squad, resolver, monkeypatch, answers):
    resolver["hooks.rebound.example"] = answers
    monkeypatch.setattr(egress, "create_connection", lambda *a, **k: pytest.fail("connected"))
    delivery = stored_delivery(squad, "https://hooks.rebound.example/hook")

    assert webhooks.post_delivery(delivery.pk) is False

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.FAILED, 1)
    assert "Refused" in delivery.last_error


def test_a_refused_delivery_is_listed_for_the_tech_lead_and_never_queued_again(
    client_for, squad, tech_lead, resolver
):
    from notifications.delivery import claim_deliveries

    delivery = stored_delivery(squad, "http://10.9.8.7/hook")
    webhooks.post_delivery(delivery.pk)

    assert claim_deliveries().webhooks == []
    page = client_for(tech_lead).get(reverse("planning:webhook-log", args=[squad.slug]))
    failed = page.content.decode().split('id="failed"')[1].split("</section>")[0]
    assert "test.event" in failed and "Refused: 10.9.8.7 is a loopback" in failed


def test_the_post_goes_to_the_address_checked_with_the_name_in_the_host_header(
    squad, settings, resolver, monkeypatch
):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lookups: list[str] = []
    answer = egress.getaddrinfo

    def counting(host, *args, **kwargs):
        lookups.append(host)
        answers = answer(host, *args, **kwargs)
        # A second lookup would get another address: the post must not make one.
        resolver["chat.example.net"] = ["10.0.0.99"]
        return answers

    resolver["chat.example.net"] = ["127.0.0.1"]
    monkeypatch.setattr(egress, "getaddrinfo", counting)
    try:
        port = server.server_port
        delivery = stored_delivery(squad, f"http://chat.example.net:{port}/hook?x=1")
        assert webhooks.post_delivery(delivery.pk) is True
    finally:
        server.shutdown()
        server.server_close()

    assert lookups == ["chat.example.net"]
    assert [headers["Host"] for headers in seen] == [f"chat.example.net:{port}"]


def test_https_verifies_the_certificate_of_the_name_not_of_the_address(
    squad, settings, resolver, monkeypatch, tmp_path
):
    """The post connects to 127.0.0.1, sends the name as SNI and checks the certificate for it."""
    settings.WEBHOOK_ALLOW_PRIVATE = True
    cert, key = self_signed(tmp_path, "chat.example.net")
    server_names: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(egress.ssl, "create_default_context", lambda: trusting)
    resolver["chat.example.net"] = ["127.0.0.1"]
    resolver["other.example.net"] = ["127.0.0.1"]
    try:
        port = server.server_port
        good = stored_delivery(squad, f"https://chat.example.net:{port}/hook")
        assert webhooks.post_delivery(good.pk) is True
        # The same server under another name: its certificate does not name it.
        wrong = stored_delivery(squad, f"https://other.example.net:{port}/hook")
        with pytest.raises(ssl.SSLCertVerificationError):
            webhooks.post_delivery(wrong.pk)
    finally:
        server.shutdown()
        server.server_close()

    assert server_names[0] == "chat.example.net"


def self_signed(folder, name: str):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("This test needs the openssl command (apt-get install openssl).")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


# Slack text -------------------------------------------------------------------------------------


def test_slack_markup_in_user_text_is_shown_as_typed(hooked_payload):
    text = hooked_payload["text"]

    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&lt;https://evil.example/login|Open in Squad Planner&gt;" in text
    assert "Fish &amp; chips" in text
    # The one link left is the app's own, at the end.
    assert text.count("<") == 1 and text.endswith("|Open in Squad Planner>")
    assert text.split("<")[1].startswith("http://localhost:8000/squads/payments/")


@pytest.fixture
def hooked_payload(squad, project, tech_lead, engineer):
    from datetime import timedelta

    import time_machine

    from planning.tasks import sweep_reminders

    Squad.objects.filter(pk=squad.pk).update(webhook_url="https://hooks.example.com/payments")
    milestone = services.create_milestone(tech_lead, project, title="Vault")
    unknown = services.add_unknown(
        engineer,
        milestone,
        title="<!channel> Fish & chips <https://evil.example/login|Open in Squad Planner>",
        owner=engineer,
    )
    with time_machine.travel(unknown.last_activity_at + timedelta(days=8), tick=False):
        sweep_reminders.apply()
    return json.loads(json.dumps(WebhookDelivery.objects.get().payload))


# Who sees the URL -------------------------------------------------------------------------------

SECRET_URL = "https://hooks.example.com/services/T000/B000/XXXXSECRET"


@pytest.fixture
def hooked(squad):
    Squad.objects.filter(pk=squad.pk).update(webhook_url=SECRET_URL)
    squad.refresh_from_db()
    return squad


@pytest.mark.parametrize("persona", ["engineer", "product"])
def test_members_who_are_not_tech_leads_do_not_see_the_url(
    request, client_for, api, hooked, persona
):
    member = request.getfixturevalue(persona)

    page = client_for(member).get(reverse("squads:settings", args=[hooked.slug]))
    detail = api(member).get(f"{API}/squads/{hooked.slug}/")
    listed = api(member).get(f"{API}/squads/")

    assert page.status_code == 200
    assert "XXXXSECRET" not in page.content.decode()
    assert "webhook_url" not in page.context["form"].fields
    assert detail.status_code == 200 and "webhook_url" not in detail.json()
    assert "XXXXSECRET" not in detail.content.decode()
    assert listed.status_code == 200 and "XXXXSECRET" not in listed.content.decode()


def test_the_tech_lead_sees_and_sets_the_url(client_for, api, hooked, tech_lead):
    page = client_for(tech_lead).get(reverse("squads:settings", args=[hooked.slug]))
    detail = api(tech_lead).get(f"{API}/squads/{hooked.slug}/")
    [listed] = api(tech_lead).get(f"{API}/squads/").json()["results"]

    assert SECRET_URL in page.content.decode()
    assert detail.json()["webhook_url"] == SECRET_URL
    assert listed["webhook_url"] == SECRET_URL


def test_a_member_who_is_not_a_tech_lead_cannot_set_the_url(api, client_for, hooked, engineer):
    answer = api(engineer).patch(
        f"{API}/squads/{hooked.slug}/", {"webhook_url": "https://hooks.example.com/mine"}
    )
    page = client_for(engineer).post(
        reverse("squads:settings", args=[hooked.slug]),
        settings_form(hooked, webhook_url="https://hooks.example.com/mine"),
    )

    assert answer.status_code == 403 and "XXXXSECRET" not in answer.content.decode()
    assert page.status_code == 403
    assert Squad.objects.get(pk=hooked.pk).webhook_url == SECRET_URL
