"""Each source's noisy view of the population, as landing records.

One function per source system. Each decides who appears in that system and
how their details were typed there, emits a record per version (a later
edit of the same key lands in a later day's file), and records the true
person behind each key.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from functools import partial

from cdp_platform.demo.behaviour import Shopper, purchase_days
from cdp_platform.demo.landing import (
    FIRST_SECOND,
    LAST_SECOND,
    Landing,
    iso_offset,
    iso_z,
    plain_utc,
    shopify,
)
from cdp_platform.demo.messy import (
    email_variant,
    first_name_variant,
    last_name_variant,
    padded,
    phone_variant,
    postcode_variant,
    street_variant,
)
from cdp_platform.demo.pools import (
    CAMPAIGNS,
    PAGES,
    PLACEHOLDER_EMAILS,
    PLACEHOLDER_PHONES,
    PRODUCTS,
    SHOP_DEFAULT_PHONE,
    STORES,
    USER_AGENTS,
)
from cdp_platform.demo.population import Company, Person

LIFECYCLE = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)


@dataclass
class Order:
    person: Person
    day: int
    second: int
    email: str
    items: list[tuple[str, str, float, int]]
    name: str = ""
    refund_day: int | None = None


@dataclass
class Identifiers:
    """What each person is known by in the sources, for privacy requests."""

    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    crm_ids: list[str] = field(default_factory=list)
    cards: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)


class Counters:
    def __init__(self):
        self.crm = 1_000_000
        self.leid = 400_000_000
        self.ticket = 10_000
        self.card = 6_000_100_000_000_000
        self.receipt = 0
        self.account = 50_000
        self.device = 0
        self.message = 0
        self.request = 0

    def next(self, name: str) -> int:
        value = getattr(self, name) + 1
        setattr(self, name, value)
        return value


def _second(rng: random.Random) -> int:
    return rng.randrange(FIRST_SECOND, LAST_SECOND)


def _phone(rng: random.Random, person: Person) -> str:
    if person.country != "GB":
        code, number = person.phone_code, person.mobile
        return rng.choice((f"+{code} {number}", f"+{code}{number}", f"00{code} {number}"))
    return phone_variant(rng, person.mobile)


def _contact_phone(rng: random.Random, person: Person, ids: Identifiers, present: float) -> str:
    r = rng.random()
    if r > present:
        return ""
    if r < 0.02:
        return rng.choice(PLACEHOLDER_PHONES)
    if person.landline and r < 0.2:
        value = phone_variant(rng, person.landline)
    else:
        value = _phone(rng, person)
    ids.phones.append(value)
    return value


def _contact_email(
    rng: random.Random,
    person: Person,
    ids: Identifiers,
    noise: float,
    household: float = 0.0,
    placeholder: float = 0.02,
) -> str:
    r = rng.random()
    if r < placeholder:
        return rng.choice(PLACEHOLDER_EMAILS)
    if person.household_email and r < placeholder + household:
        value = email_variant(rng, person.household_email, noise)
    else:
        value = email_variant(rng, person.email, noise)
    ids.emails.append(value)
    return value


def crm_contacts(
    rng: random.Random, landing: Landing, person: Person, ids: Identifiers, counters: Counters
) -> None:
    b2b = person.company is not None and rng.random() < 0.9
    if not b2b and rng.random() > 0.42:
        return
    record_id = str(counters.next("crm"))
    ids.crm_ids.append(record_id)
    created = rng.randrange(landing.days)
    address = person.address_on(created)
    if b2b:
        email = email_variant(rng, person.work_email, 0.1)
        ids.emails.append(email)
    else:
        email = "" if rng.random() < 0.05 else _contact_email(rng, person, ids, 0.12, 0.1)
    first = first_name_variant(rng, person.first, 0.15)
    last = last_name_variant(rng, person.surname_on(created), 0.12)
    if rng.random() < 0.015:  # typed into the wrong boxes
        first, last = last, first
    row = {
        "Record ID": record_id,
        "First Name": first,
        "Last Name": last,
        "Email": email,
        "Phone Number": _contact_phone(rng, person, ids, 0.75),
        "Street Address": street_variant(rng, address.line(), 0.2) if rng.random() < 0.8 else "",
        "City": address.town if rng.random() < 0.85 else "",
        "Postal Code": postcode_variant(rng, address.postcode, 0.2) if rng.random() < 0.85 else "",
        "Country/Region": address.country if rng.random() < 0.8 else "",
        "Date of Birth": person.dob.isoformat() if person.dob and rng.random() < 0.55 else "",
        "Company Name": person.company.name if b2b else "",
        "Associated Company ID": person.company.company_id if b2b and rng.random() < 0.85 else "",
        "Job Title": person.job_title if b2b else "",
        "Lifecycle Stage": rng.choice(
            ("lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity")
        )
        if b2b
        else rng.choice(("subscriber", "lead", "customer", "customer", "other")),
        "Email Subscription Status": rng.choice(("subscribed", "subscribed", "unsubscribed", "")),
    }
    moment = landing.moment(created, _second(rng))
    row["Create Date"] = iso_offset(moment)
    row["Last Modified Date"] = row["Create Date"]
    landing.add("crm_contacts", created, row, record_id, person.pid)
    # Later edits: life events, consent changes, sales progress.
    edits = sorted(
        {
            rng.randrange(created + 1, landing.days)
            for _ in range(rng.choice((0, 0, 1, 1, 2)))
            if created + 1 < landing.days
        }
    )
    for day in edits:
        row = dict(row)
        if (
            person.new_surname
            and day >= person.new_surname[0]
            and row["Last Name"] != person.new_surname[1]
        ):
            row["Last Name"] = person.new_surname[1]
            if not b2b and rng.random() < 0.5:
                local, _, domain = person.email.partition("@")
                row["Email"] = f"{local.split('.')[0]}.{person.new_surname[1].lower()}@{domain}"
                ids.emails.append(row["Email"])
        moved = person.address_on(day)
        if moved is not address:
            row["Street Address"] = moved.line()
            row["City"] = moved.town
            row["Postal Code"] = moved.postcode
        r = rng.random()
        if r < 0.35:
            row["Email Subscription Status"] = (
                "unsubscribed"
                if row["Email Subscription Status"] != "unsubscribed"
                else "subscribed"
            )
        elif r < 0.7:
            row["Lifecycle Stage"] = rng.choice(LIFECYCLE)
        else:
            row["Phone Number"] = _contact_phone(rng, person, ids, 0.9)
        row["Last Modified Date"] = iso_offset(landing.moment(day, _second(rng)))
        landing.add("crm_contacts", day, row, record_id, person.pid)


def crm_companies(rng: random.Random, landing: Landing, companies: list[Company]) -> None:
    for company in companies:
        moment = landing.moment(company.created_day, _second(rng))
        row = {
            "Record ID": company.company_id,
            "Company name": company.name,
            "Company Domain Name": company.domains[0],
            "Industry": company.industry,
            "Number of Employees": str(company.employees),
            "Annual Revenue": f"{company.revenue:.2f}" if rng.random() < 0.8 else "",
            "Country/Region": "GB",
            "Create Date": iso_offset(moment),
            "Last Modified Date": iso_offset(moment),
        }
        landing.add("crm_companies", company.created_day, row, None, None)
        if rng.random() < 0.25 and company.created_day + 1 < landing.days:
            day = rng.randrange(company.created_day + 1, landing.days)
            row = dict(
                row,
                **{
                    "Number of Employees": str(int(company.employees * 1.1) + 1),
                    "Last Modified Date": iso_offset(landing.moment(day, _second(rng))),
                },
            )
            landing.add("crm_companies", day, row, None, None)


def plan_orders(
    rng: random.Random,
    landing: Landing,
    person: Person,
    ids: Identifiers,
    counters: Counters,
    shopper: Shopper,
) -> list[Order]:
    if rng.random() > 0.48:
        return []
    if rng.random() < 0.6:
        person.account_id = f"U{counters.next('account')}"
        ids.user_ids.append(person.account_id)
    orders = []
    basket = (2, 3, 3, 4) if shopper.big_baskets else (1, 1, 2, 3)
    for day in purchase_days(rng, shopper, landing.days):
        r = rng.random()
        if person.work_email and r < 0.05:
            email = email_variant(rng, person.work_email, 0.1)
            ids.emails.append(email)
        else:
            email = _contact_email(rng, person, ids, 0.15, household=0.35, placeholder=0.01)
        items = [
            (sku, name, price, rng.choice((1, 1, 1, 2, 3)))
            for sku, name, price in rng.sample(PRODUCTS, k=rng.choice(basket))
        ]
        order = Order(person, day, _second(rng), email, items)
        if rng.random() < 0.05 and day + 1 < landing.days:
            order.refund_day = rng.randrange(day + 1, landing.days)
        orders.append(order)
    return orders


def shop_orders(rng: random.Random, landing: Landing, order: Order, ids: Identifiers) -> None:
    person = order.person
    address = person.address_on(order.day)
    created = shopify(landing.moment(order.day, order.second))
    subtotal = sum(price * qty for _, _, price, qty in order.items)
    shipping = 0.0 if subtotal >= 50 else 4.99
    discount = rng.choice(("", "", "", "WELCOME10", "AUTUMN15"))
    total = round(subtotal + shipping - (subtotal * 0.1 if discount else 0), 2)
    r = rng.random()
    if r < 0.03:
        billing_phone = SHOP_DEFAULT_PHONE  # typed by staff for phone orders
    elif r < 0.05:
        billing_phone = rng.choice(PLACEHOLDER_PHONES)
    elif r < 0.65:
        billing_phone = _phone(rng, person)
        ids.phones.append(billing_phone)
    else:
        billing_phone = ""
    first = first_name_variant(rng, person.first, 0.15)
    header = {
        "Financial Status": rng.choice(("paid",) * 9 + ("pending",)),
        "Paid at": created,
        "Accepts Marketing": rng.choice(("yes", "no", "no")),
        "Currency": "GBP",
        "Subtotal": f"{subtotal:.2f}",
        "Shipping": f"{shipping:.2f}",
        "Taxes": f"{total / 6:.2f}",
        "Total": f"{total:.2f}",
        "Discount Code": discount,
        "Billing Name": f"{first} {last_name_variant(rng, person.surname_on(order.day), 0.1)}",
        "Billing Street": street_variant(rng, address.line(), 0.3),
        "Billing City": address.town,
        "Billing Zip": postcode_variant(rng, address.postcode, 0.3),
        "Billing Country": address.country,
        "Billing Phone": billing_phone,
        "Id": str(5_000_000_000 + int(order.name[1:])),
    }
    versions = [(order.day, header)]
    if order.refund_day is not None:
        versions.append((order.refund_day, dict(header, **{"Financial Status": "refunded"})))
    for day, head in versions:
        for n, (sku, name, price, qty) in enumerate(order.items):
            row = {
                "Name": order.name,
                "Email": order.email,
                "Created at": created,
                "Lineitem quantity": str(qty),
                "Lineitem name": name,
                "Lineitem price": f"{price:.2f}",
                "Lineitem sku": sku,
            }
            if n == 0:
                row.update(head)
            landing.add("shop_orders", day, row, order.name, person.pid)


@dataclass
class Device:
    anonymous_id: str
    person: Person
    days: list[int]
    agent: str


def _emit_event(
    landing: Landing,
    counters: Counters,
    device: Device,
    kind: str,
    day: int,
    second: int,
    **fields,
) -> None:
    """One Segment message from `device`, filed under the device's first user."""
    page = fields.pop("page", "/")
    campaign = fields.pop("campaign", None)
    context = {
        "ip": f"81.{int(device.anonymous_id[:8], 16) % 200 + 1}.{day % 250}.{second % 250}",
        "userAgent": device.agent,
        "page": {"url": f"https://shop.example.co.uk{page}", "path": page, "referrer": ""},
    }
    if campaign:
        context["campaign"] = {"source": campaign[0], "medium": campaign[1], "name": campaign[2]}
    event = {
        "messageId": f"msg-{counters.next('message'):09d}",
        "type": kind,
        "timestamp": iso_z(landing.moment(day, second), millis=True),
        "anonymousId": device.anonymous_id,
        "userId": fields.pop("userId", None),
        **fields,
        "context": context,
    }
    landing.add("web_events", day, event, device.anonymous_id, device.person.pid)


def _new_device(rng: random.Random, landing: Landing, person: Person, counters: Counters) -> Device:
    n = counters.next("device")
    anonymous_id = (
        f"{n:08x}-{rng.randrange(16**4):04x}-4{rng.randrange(16**3):03x}-"
        f"a{rng.randrange(16**3):03x}-{rng.randrange(16**12):012x}"
    )
    days = sorted({rng.randrange(landing.days) for _ in range(rng.choice((1, 1, 2, 3, 4)))})
    return Device(anonymous_id, person, days, rng.choice(USER_AGENTS))


def _identify_traits(rng: random.Random, person: Person, day: int, ids: Identifiers) -> dict:
    traits = {"email": email_variant(rng, person.email, 0.1)}
    ids.emails.append(traits["email"])
    if rng.random() < 0.7:
        traits["firstName"] = first_name_variant(rng, person.first, 0.1)
        traits["lastName"] = person.surname_on(day)
    if rng.random() < 0.15:
        traits["phone"] = _phone(rng, person)
    traits["consent"] = _cookie_consent(person)
    return traits


def _cookie_consent(person: Person) -> dict[str, bool]:
    """The person's answer to the shop's cookie banner, the same on every device:
    about two in three accept advertising, four in five analytics. Drawn from the
    person's id, not the generator's stream, so the rest of the data is as before."""
    draw = zlib.crc32(person.pid.encode()) % 100
    return {"advertising": draw < 65, "analytics": draw < 80}


def _browse(
    rng: random.Random, landing: Landing, counters: Counters, device: Device, day: int
) -> int:
    """A visit: a page view, then maybe a product, the basket and the checkout."""
    second = _second(rng)
    campaign = rng.choice(CAMPAIGNS) if rng.random() < 0.3 else None
    _emit_event(
        landing,
        counters,
        device,
        "page",
        day,
        second,
        page=rng.choice(PAGES),
        campaign=campaign,
        properties={"title": "Shop"},
    )
    for step, name in enumerate(("Product Viewed", "Product Added", "Checkout Started")):
        if rng.random() > (0.7, 0.4, 0.5)[step]:
            break
        sku, product, price = rng.choice(PRODUCTS)
        second = min(second + rng.randrange(5, 300), LAST_SECOND)
        _emit_event(
            landing,
            counters,
            device,
            "track",
            day,
            second,
            event=name,
            page="/product/" + sku.lower(),
            properties={"product_id": sku, "name": product, "price": price},
        )
    return second


def web_events(
    rng: random.Random,
    landing: Landing,
    person: Person,
    orders: list[Order],
    ids: Identifiers,
    counters: Counters,
    shared_with: Person | None,
    hard_cases: dict,
) -> None:
    if rng.random() > 0.62 and not orders:
        return
    count = rng.choices((1, 2, 3), weights=(60, 30, 10))[0]
    devices = [_new_device(rng, landing, person, counters) for _ in range(count)]
    # A family laptop: both members sign in to their own accounts on it. (A
    # browser only the other member ever signed in on is, by every record it
    # holds, theirs; no truth could say otherwise, so that case is not planted.)
    shares_browser = (
        shared_with is not None
        and shared_with.account_id is not None
        and person.account_id is not None
    )
    for n, device in enumerate(devices):
        # Identified on a later visit, on the first one, or never.
        identify_at = None
        if person.account_id is not None and (rng.random() < 0.75 or (shares_browser and n == 0)):
            identify_at = rng.randrange(len(device.days))
        elif person.account_id is None and rng.random() < 0.2:
            identify_at = len(device.days) - 1
        for visit, day in enumerate(device.days):
            second = _browse(rng, landing, counters, device, day)
            if visit == identify_at:
                _emit_event(
                    landing,
                    counters,
                    device,
                    "identify",
                    day,
                    min(second + 30, LAST_SECOND),
                    userId=person.account_id,
                    traits=_identify_traits(rng, person, day, ids),
                    page="/account",
                )
    if shares_browser:
        # The household's other member signs in on the same browser later.
        device = devices[0]
        traits = {
            "email": shared_with.email,
            "firstName": shared_with.first,
            "lastName": shared_with.last,
        }
        _emit_event(
            landing,
            counters,
            device,
            "identify",
            device.days[-1],
            LAST_SECOND - 60,
            userId=shared_with.account_id,
            traits=traits,
            page="/account",
        )
        hard_cases["shared_devices"].append(
            {"anonymousId": device.anonymous_id, "persons": [person.pid, shared_with.pid]}
        )
    for order in orders:
        if rng.random() > 0.8:
            continue  # some orders are placed on a device we never saw
        device = rng.choice(devices)
        products = [{"product_id": sku, "quantity": qty} for sku, _, _, qty in order.items]
        total = round(sum(price * qty for _, _, price, qty in order.items), 2)
        track = partial(_emit_event, landing, counters, device, "track", order.day, order.second)
        track(
            event="Order Completed",
            userId=person.account_id,
            page="/checkout/thank-you",
            properties={
                "order_id": order.name,
                "total": total,
                "currency": "GBP",
                "products": products,
            },
        )
        if rng.random() < 0.15:
            track(event="Signed Up", userId=person.account_id, page="/account/new", properties={})


def support_tickets(
    rng: random.Random, landing: Landing, person: Person, ids: Identifiers, counters: Counters
) -> None:
    if rng.random() > 0.14:
        return
    for _ in range(rng.choice((1, 1, 1, 2))):
        ticket_id = counters.next("ticket")
        day = rng.randrange(landing.days)
        moment = landing.moment(day, _second(rng))
        name = f"{first_name_variant(rng, person.first, 0.2)} {last_name_variant(rng, person.surname_on(day), 0.1)}"
        email = _contact_email(rng, person, ids, 0.15, household=0.2, placeholder=0.01)
        if person.work_email and rng.random() < 0.2:
            email = email_variant(rng, person.work_email, 0.1)
            ids.emails.append(email)
        row = {
            "id": ticket_id,
            "created_at": iso_z(moment),
            "updated_at": iso_z(moment),
            "status": "new",
            "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
            "channel": rng.choice(("email", "web", "phone", "chat")),
            "subject": rng.choice(
                (
                    "Where is my order?",
                    "Refund request",
                    "Wrong size",
                    "Cannot log in",
                    "Change my address",
                    "Loyalty points missing",
                )
            ),
            "satisfaction_rating": {"score": "unoffered"},
            "requester": {
                "name": padded(rng, name),
                "email": email,
                "phone": _contact_phone(rng, person, ids, 0.25) or None,
            },
        }
        landing.add("support_tickets", day, row, str(ticket_id), person.pid)
        if rng.random() < 0.7 and day + 1 < landing.days:
            later = rng.randrange(day + 1, min(landing.days, day + 8))
            solved = dict(
                row,
                status=rng.choice(("solved", "closed")),
                updated_at=iso_z(landing.moment(later, _second(rng))),
                satisfaction_rating={"score": rng.choice(("good", "good", "bad", "offered"))},
            )
            landing.add("support_tickets", later, solved, str(ticket_id), person.pid)


def email_subscribers(
    rng: random.Random, landing: Landing, person: Person, ids: Identifiers, counters: Counters
) -> None:
    if rng.random() > 0.5:
        return
    leid = str(counters.next("leid"))
    day = rng.randrange(landing.days)
    moment = landing.moment(day, _second(rng))
    optin = landing.moment(max(0, day - rng.randrange(0, 3)), FIRST_SECOND)
    row = {
        "Email Address": _contact_email(rng, person, ids, 0.1, household=0.3, placeholder=0.0),
        "First Name": first_name_variant(rng, person.first, 0.15) if rng.random() < 0.7 else "",
        "Last Name": last_name_variant(rng, person.surname_on(day), 0.1)
        if rng.random() < 0.6
        else "",
        "Phone Number": _contact_phone(rng, person, ids, 0.25),
        "Status": rng.choice(("subscribed",) * 8 + ("pending",)),
        "MEMBER_RATING": str(rng.randrange(1, 6)),
        "OPTIN_TIME": plain_utc(optin),
        "CONFIRM_TIME": plain_utc(moment),
        "LAST_CHANGED": plain_utc(moment),
        "LEID": leid,
        "TAGS": rng.choice(("", '"newsletter"', '"vip","newsletter"', '"instore"')),
    }
    landing.add("email_subscribers", day, row, leid, person.pid)
    if rng.random() < 0.2 and day + 1 < landing.days:
        later = rng.randrange(day + 1, landing.days)
        row = dict(
            row,
            Status=rng.choice(("unsubscribed", "unsubscribed", "cleaned")),
            LAST_CHANGED=plain_utc(landing.moment(later, _second(rng))),
        )
        landing.add("email_subscribers", later, row, leid, person.pid)
        if rng.random() < 0.2 and later + 1 < landing.days:  # changed their mind
            again = rng.randrange(later + 1, landing.days)
            row = dict(
                row,
                Status="subscribed",
                LAST_CHANGED=plain_utc(landing.moment(again, _second(rng))),
            )
            landing.add("email_subscribers", again, row, leid, person.pid)


def pos(
    rng: random.Random,
    landing: Landing,
    person: Person,
    ids: Identifiers,
    counters: Counters,
    shopper: Shopper,
) -> None:
    if person.country != "GB":
        return
    member = rng.random() < 0.3
    if not member:
        if rng.random() < 0.1:  # in-store purchases without a card: no person known
            for _ in range(rng.choice((1, 2))):
                _receipt(rng, landing, counters, None, rng.randrange(landing.days))
        return
    card = str(counters.next("card"))
    ids.cards.append(card)
    enrolled = rng.randrange(landing.days)
    home_store = rng.choice(STORES)
    address = person.address_on(enrolled)
    row = {
        "card_number": card,
        "first_name": first_name_variant(rng, person.first, 0.25),
        "last_name": last_name_variant(rng, person.surname_on(enrolled), 0.2),
        "phone": _contact_phone(rng, person, ids, 0.85),
        "email": _contact_email(rng, person, ids, 0.2, household=0.2)
        if rng.random() < 0.35
        else "",
        "postcode": postcode_variant(rng, address.postcode, 0.4),
        "birth_date": person.dob.strftime("%d/%m/%Y") if person.dob and rng.random() < 0.75 else "",
        "home_store": home_store,
        "enrolled_at": plain_utc(landing.moment(enrolled, _second(rng))),
        "points_balance": "0",
    }
    row["updated_at"] = row["enrolled_at"]
    if rng.random() < 0.5:  # the form's address lines are optional
        row["street"] = street_variant(rng, address.line(), 0.2)
        row["city"] = address.town
    landing.add("pos_loyalty", enrolled, row, card, person.pid)
    points = 0
    # Members sign up at the till, buying; then shop in store at their own pace.
    for day in purchase_days(rng, shopper, landing.days, since=enrolled, slower=1.5):
        total = _receipt(
            rng, landing, counters, card, day, person.pid, home_store, shopper.big_baskets
        )
        points += int(total)
        if rng.random() < 0.3:
            row = dict(
                row,
                points_balance=str(points),
                updated_at=plain_utc(landing.moment(day, LAST_SECOND - rng.randrange(60, 600))),
            )
            landing.add("pos_loyalty", day, row, card, person.pid)


def _receipt(
    rng: random.Random,
    landing: Landing,
    counters: Counters,
    card: str | None,
    day: int,
    pid: str | None = None,
    store: str | None = None,
    big_basket: bool = False,
) -> float:
    receipt_id = f"R{counters.next('receipt'):09d}"
    items = rng.randrange(4, 12) if big_basket else rng.randrange(1, 8)
    total = round(sum(rng.choice(PRODUCTS)[2] for _ in range(items)), 2)
    row = {
        "receipt_id": receipt_id,
        "card_number": card or "",
        "store_id": store if store and rng.random() < 0.8 else rng.choice(STORES),
        "purchased_at": plain_utc(landing.moment(day, _second(rng))),
        "total": f"{total:.2f}",
        "currency": "GBP",
        "items": str(items),
    }
    landing.add("pos_transactions", day, row, receipt_id if card else None, pid)
    return total


def privacy_requests(
    rng: random.Random,
    landing: Landing,
    people: list[Person],
    identifiers: dict[str, Identifiers],
    counters: Counters,
) -> dict[str, str]:
    """A few data-subject requests a week, each naming a real person's identifier."""
    truth: dict[str, str] = {}
    # About three a week for a 2,000-person business, growing with the root of its size.
    count = max(3, round(landing.days / 7 * 3 * max(1.0, len(people) / 2000) ** 0.5))
    for index, person in enumerate(rng.sample(people, k=min(count, len(people)))):
        ids = identifiers[person.pid]
        options = [
            ("email", v) for v in ids.emails if "@" in v and v.strip() not in PLACEHOLDER_EMAILS
        ]
        options = options * 3 + [("phone", v) for v in ids.phones if v not in PLACEHOLDER_PHONES]
        options += [("crm_record_id", v) for v in ids.crm_ids] + [
            ("loyalty_card", v) for v in ids.cards
        ]
        options += [("user_id", v) for v in ids.user_ids]
        if not options:
            continue
        kind, value = rng.choice(options)
        day = rng.randrange(landing.days)
        request_type = ("SUPPRESS", "DELETE")[index % 2]
        truth.update(_request(rng, landing, counters, person, request_type, kind, value, day))
        if request_type == "SUPPRESS" and rng.random() < 0.35 and day + 1 < landing.days:
            later = rng.randrange(day + 1, landing.days)
            truth.update(_request(rng, landing, counters, person, "UNSUPPRESS", kind, value, later))
    return truth


def _request(rng, landing, counters, person, request_type, kind, value, day) -> dict[str, str]:
    request_id = f"PR-{counters.next('request'):06d}"
    if kind == "email" and rng.random() < 0.3:
        value = f" {value.upper()} "
    row = {
        "request_id": request_id,
        "type": request_type,
        "identifier_type": kind,
        "identifier_value": value,
        "received_at": iso_z(landing.moment(day, _second(rng))),
    }
    landing.add("privacy_requests", day, row, None, None)
    return {request_id: person.pid}
