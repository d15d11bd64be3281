"""The preview's suggested mapping on files shaped like real exports, with
and without headers."""

from __future__ import annotations

import pytest

from letter.imports.csvfile import sniff
from letter.imports.guess import columns, has_header, kind_of_column

MAILCHIMP = (
    b'"Email Address","First Name","Last Name",MEMBER_RATING,OPTIN_TIME,CONFIRM_TIME,'
    b'LATITUDE,LONGITUDE,TIMEZONE,CC,LEID,EUID,TAGS\n'
    b'ada@example.com,Ada,Lovelace,2,"2023-01-05 10:00:00","2023-01-05 10:01:00",'
    b'48.85,2.35,Europe/Paris,FR,12345,abc123,"VIP,Beta"\n'
    b'grace@example.com,Grace,Hopper,4,"2023-02-01 09:30:00","2023-02-01 09:31:00",'
    b',,America/New_York,US,12346,abd124,\n')
HUBSPOT = (
    b"Record ID,First Name,Last Name,Email,Phone Number,Lifecycle Stage,Contact owner,"
    b"Create Date,Marketing contact status\n"
    b"701,Ada,Lovelace,ada@example.com,+44 20 7946 0958,customer,Jo Smith,"
    b"2023-04-01 12:00,Marketing contact\n"
    b"702,Grace,Hopper,grace@example.com,+1 212 555 0100,lead,Jo Smith,"
    b"2023-05-11 08:15,Non-marketing contact\n")
STRIPE = (
    b"id,Description,Email,Name,Created (UTC),Delinquent,Plan,Status\n"
    b"cus_NffrFeUfNV2Hib,,ada@example.com,Ada Lovelace,2023-03-01 10:11,false,pro,active\n"
    b"cus_NffrFeUfNV2Hic,VIP,grace@example.com,Grace Hopper,2023-03-02 11:12,true,team,"
    b"canceled\n")
HEADERLESS = (
    b"10023,Ada,Lovelace,ada@example.com,true,12.5,2023-01-05\n"
    b"10024,Grace,Hopper,grace@example.com,false,7,2023-02-11\n"
    b"10025,Linus,Torvalds,linus@example.com,false,0.5,2023-03-17\n")


def suggest(content: bytes) -> tuple[bool, dict[str, str]]:
    sample = sniff(content, complete=True)
    header = has_header(sample.rows)
    return header, {c["header"] or str(c["index"]): c["suggested"]
                    for c in columns(sample.rows, header)}


def test_a_mailchimp_export():
    header, found = suggest(MAILCHIMP)
    assert header
    assert found["Email Address"] == "email"
    assert found["First Name"] == "traits.first_name"
    assert found["Last Name"] == "traits.last_name"
    assert found["TIMEZONE"] == "timezone"
    assert found["OPTIN_TIME"] == "traits.optin_time"
    assert found["TAGS"] == "traits.tags"


def test_a_hubspot_export():
    header, found = suggest(HUBSPOT)
    assert header
    assert (found["Record ID"], found["Email"], found["Phone Number"]) == (
        "external_id", "email", "traits.phone_number")
    assert found["Marketing contact status"] == "traits.marketing_contact_status"


def test_a_stripe_customers_export():
    header, found = suggest(STRIPE)
    assert header
    assert (found["id"], found["Email"], found["Name"], found["Status"]) == (
        "external_id", "email", "traits.name", "status")
    assert found["Created (UTC)"] == "traits.created_utc"


def test_a_header_less_file_is_read_from_its_values():
    header, found = suggest(HEADERLESS)
    assert not header
    assert found == {"0": "external_id", "1": "traits.first_name", "2": "traits.last_name",
                     "3": "email", "4": "traits.boolean", "5": "traits.number",
                     "6": "traits.date"}


def test_a_header_that_says_nothing_over_addresses_is_the_email():
    header, found = suggest(b"Contact,Notes\nada@example.com,hi\nbob@example.com,yo\n")
    assert header and found == {"Contact": "email", "Notes": "traits.notes"}


def test_each_single_field_is_suggested_once():
    _, found = suggest(b"email,e-mail,id,user_id\na@x.io,b@x.io,1,u1\n")
    assert list(found.values()) == ["email", "traits.e_mail", "external_id", "traits.user_id"]


@pytest.mark.parametrize(("values", "kind"), [
    (["ada@example.com", "bob@example.com"], "email"),
    (["subscribed", "unsubscribed", "Opted Out"], "status"),
    (["yes", "no", "yes"], "boolean"),
    (["Europe/Paris", "UTC", "America/New_York"], "timezone"),
    (["2024-01-05", "05/01/2024", "Jan 5, 2024", "2024-01-05T10:00:00Z"], "date"),
    (["12", "3.5", "-7", "1,25"], "number"),
    (["+44 20 7946 0958", "(212) 555-0100"], "phone"),
    (["usr_01", "usr_02"], "id"),
    (["Ada", "José", "Zoë", "O'Brien"], "name"),
    (["pro plan", "free tier", "lorem ipsum 2"], "text"),
    (["", " "], "empty"),
])
def test_kinds(values, kind):
    assert kind_of_column(values) == kind
