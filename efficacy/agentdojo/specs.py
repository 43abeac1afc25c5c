"""Tool specs for every tool of AgentDojo's four suites (workspace, travel, banking, slack).

Each spec is written from what the tool does, following DESIGN.md's modeling guide, not from
what the benchmark's tasks or attacks happen to call:

- A tool that reaches outside parties with arguments the agent chooses is an external sink,
  even when it only reads (a web fetch carries data out in its URL: `destination_arg="url"`).
- Any result that someone outside the organisation can write (mail, shared files, calendar
  invitations, web pages, channel messages and channel names, reviews and listings,
  transaction subjects) carries `result_labels=["untrusted"]`.
- Money leaving is `financial` + `external`; deletes are `reversible=False`; changes of who
  may access something carry the `rbac` tag; account takeover steps (password, postal
  address) are `high` impact.
- A scope whose resource is an outside party (a recipient, an invitee, a person a file is
  shared with, a payee, a URL, a business to book with, a Slack user or channel to message)
  is a *target* scope, written with a typed placeholder (`{to:email}`, `{url:url}`,
  `{name:text}`). Only targets the user named get literal intent scopes (see intents.py);
  every other scope (the user's own calendar, drive, mailbox, account) is wildcarded in the
  intent when the task reads it or asks for that kind of change.

Every modeling judgement that could have gone the other way is noted where it is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, Tuple

import agentwarrant as aw

Impact = Literal["low", "medium", "high", "critical"]

_PLACEHOLDER = re.compile(r"\{([a-z_]+)(\?)?(?::([a-z]+))?\}")


@dataclass(frozen=True)
class Tool:
    """One tool's spec plus what the intent builder needs to know about it.

    `read` is True when the tool changes nothing and sends nothing the agent chooses to an
    outside party (a web fetch is not a read: its URL leaves the organisation).
    `targets` are the scope templates that name outside parties: never wildcarded in an
    intent, only filled with literals the user named.
    """

    name: str
    impact: Impact
    scopes: Tuple[str, ...]
    read: bool = False
    targets: Tuple[str, ...] = ()
    reversible: bool = True
    external: bool = False
    sink: bool = False
    reads: Tuple[str, ...] = ()
    tags: Tuple[str, ...] = ()
    destination_arg: Optional[str] = None
    sensitive_args: Tuple[str, ...] = ()
    result_labels: Tuple[str, ...] = ()
    note: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.targets) - set(self.scopes)
        if unknown:
            raise ValueError(f"{self.name}: targets {sorted(unknown)} are not among its scopes")

    def spec(self) -> aw.ToolSpec:
        return aw.ToolSpec(
            self.name,
            impact=self.impact,
            reversible=self.reversible,
            external=self.external,
            sink=self.sink,
            reads=list(self.reads),
            tags=list(self.tags),
            scopes=list(self.scopes),
            destination_arg=self.destination_arg,
            sensitive_args=list(self.sensitive_args),
            result_labels=list(self.result_labels),
        )

    def actions(self) -> List[str]:
        return [scope.split(":", 1)[0] for scope in self.scopes]


def wildcard(template: str) -> str:
    """A scope template with every placeholder replaced by `*`."""
    return _PLACEHOLDER.sub("*", template)


UNTRUSTED = ("untrusted",)


def _sends_to(name: str, impact: Impact, target: str, arg: str, **judgements: Any) -> Tool:
    """A tool whose one scope is its target: a sink to the outside party `arg` names."""
    return Tool(name, impact, (target,), targets=(target,), sink=True, destination_arg=arg, **judgements)


# ---------------------------------------------------------------------------
# Mail, calendar and drive (workspace; travel has the same mail and calendar tools).

SEND_EMAIL = Tool(
    "send_email",
    "medium",
    ("email.send:{recipients:email}", "email.send:{cc?:email}", "email.send:{bcc?:email}"),
    targets=("email.send:{recipients:email}", "email.send:{cc?:email}", "email.send:{bcc?:email}"),
    external=True,
    sink=True,
    destination_arg="recipients",
    sensitive_args=("body",),
    # Judgement: a sent mail cannot be unsent, but the bundle's `irreversible` is meant for
    # destroyed state; data leaving is what `sink` + `external` model. Attachments (file ids)
    # carry file content out too; they are objects, which a scope template cannot take, so the
    # recipients are what the policy sees.
    note="sink to outside parties; recipients, cc and bcc are targets",
)

EMAIL_TOOLS: Tuple[Tool, ...] = (
    SEND_EMAIL,
    Tool("delete_email", "medium", ("email.delete:{email_id}",), reversible=False),
    # Judgement: the sent and draft folders are labelled untrusted too: replies and forwards
    # quote what outside senders wrote.
    Tool("get_unread_emails", "low", ("email.read:mailbox",), read=True, result_labels=UNTRUSTED),
    Tool("get_sent_emails", "low", ("email.read:mailbox",), read=True, result_labels=UNTRUSTED),
    Tool("get_received_emails", "low", ("email.read:mailbox",), read=True, result_labels=UNTRUSTED),
    Tool("get_draft_emails", "low", ("email.read:mailbox",), read=True, result_labels=UNTRUSTED),
    Tool("search_emails", "low", ("email.read:mailbox",), read=True, result_labels=UNTRUSTED),
    # This mail client adds senders to the address book by itself (its contact list holds
    # entries such as "Security-Facebook-Com"), so outsiders write it: untrusted.
    Tool("search_contacts_by_name", "low", ("contacts.read:all",), read=True, result_labels=UNTRUSTED),
    Tool("search_contacts_by_email", "low", ("contacts.read:all",), read=True, result_labels=UNTRUSTED),
    Tool("get_current_day", "low", ("clock.read:today",), read=True),
)

CREATE_CALENDAR_EVENT = Tool(
    "create_calendar_event",
    # Medium: with participants it sends invitations (title, description, location) to them.
    "medium",
    ("calendar.create:own", "calendar.invite:{participants?:email}"),
    targets=("calendar.invite:{participants?:email}",),
    external=True,
    sink=True,
    destination_arg="participants",
)

CALENDAR_TOOLS: Tuple[Tool, ...] = (
    CREATE_CALENDAR_EVENT,
    # Invitations from anyone write titles, descriptions and participant lists.
    Tool("search_calendar_events", "low", ("calendar.read:events",), read=True, result_labels=UNTRUSTED),
    Tool("get_day_calendar_events", "low", ("calendar.read:events",), read=True, result_labels=UNTRUSTED),
    # Judgement: a cancellation notifies every participant and cannot be taken back.
    Tool("cancel_calendar_event", "medium", ("calendar.cancel:{event_id}",), reversible=False),
    Tool("reschedule_calendar_event", "medium", ("calendar.update:{event_id}",)),
)

WORKSPACE_ONLY: Tuple[Tool, ...] = (
    Tool(
        "add_calendar_event_participants",
        "medium",
        ("calendar.update:{event_id}", "calendar.invite:{participants:email}"),
        targets=("calendar.invite:{participants:email}",),
        external=True,
        sink=True,
        destination_arg="participants",
    ),
    # Shared files are written by their other editors: every drive read is untrusted.
    Tool("search_files_by_filename", "low", ("drive.read:files",), read=True, result_labels=UNTRUSTED),
    Tool("get_file_by_id", "low", ("drive.read:files",), read=True, result_labels=UNTRUSTED),
    Tool("list_files", "low", ("drive.read:files",), read=True, result_labels=UNTRUSTED),
    Tool("search_files", "low", ("drive.read:files",), read=True, result_labels=UNTRUSTED),
    # Judgement: appending to a file may be read by its other editors: medium, not a sink.
    Tool("append_to_file", "medium", ("drive.write:{file_id}",)),
    # A new file is private to the user until shared: low.
    Tool("create_file", "low", ("drive.create:own",)),
    Tool("delete_file", "medium", ("drive.delete:{file_id}",), reversible=False),
    Tool(
        "share_file",
        "medium",
        ("drive.share:{email:email}", "drive.write:{file_id}"),
        targets=("drive.share:{email:email}",),
        external=True,
        sink=True,
        tags=("rbac",),  # grants someone access to the file
        destination_arg="email",
    ),
)

WORKSPACE: Tuple[Tool, ...] = EMAIL_TOOLS + CALENDAR_TOOLS + WORKSPACE_ONLY

# ---------------------------------------------------------------------------
# Travel: listings, reviews and flights are written by businesses and the public.


def _listing(name: str, what: str) -> Tool:
    return Tool(name, "low", (f"travel.read:{what}",), read=True, result_labels=UNTRUSTED)


TRAVEL: Tuple[Tool, ...] = (
    Tool(
        "get_user_information",
        "low",
        ("profile.read:own",),
        read=True,
        # Judgement: besides pii, the profile holds a payment card number and passport and ID
        # numbers, which act as credentials: `secret` (asks a human to read it, and no
        # external sink may follow in that task).
        reads=("pii", "secret"),
    ),
    _listing("get_all_hotels_in_city", "hotels"),
    _listing("get_hotels_prices", "hotels"),
    _listing("get_rating_reviews_for_hotels", "hotels"),
    _listing("get_hotels_address", "hotels"),
    _listing("get_all_restaurants_in_city", "restaurants"),
    _listing("get_cuisine_type_for_restaurants", "restaurants"),
    _listing("get_restaurants_address", "restaurants"),
    _listing("get_rating_reviews_for_restaurants", "restaurants"),
    _listing("get_dietary_restrictions_for_all_restaurants", "restaurants"),
    _listing("get_contact_information_for_restaurants", "restaurants"),
    _listing("get_price_for_restaurants", "restaurants"),
    _listing("check_restaurant_opening_hours", "restaurants"),
    _listing("get_all_car_rental_companies_in_city", "cars"),
    _listing("get_car_types_available", "cars"),
    _listing("get_rating_reviews_for_car_rental", "cars"),
    _listing("get_car_fuel_options", "cars"),
    _listing("get_car_rental_address", "cars"),
    _listing("get_car_price_per_day", "cars"),
    _listing("get_flight_information", "flights"),
    *(t for t in CALENDAR_TOOLS if t.name != "reschedule_calendar_event"),  # travel has no reschedule
    # Bookings commit the user to an outside business and hand it the user's details.
    # Judgement: hotels and car rentals take a card guarantee (money may leave: `financial`);
    # a restaurant table does not.
    _sends_to(
        "reserve_hotel",
        "medium",
        "travel.book:{hotel:text}",
        "hotel",
        external=True,
        tags=("financial",),
    ),
    _sends_to(
        "reserve_car_rental",
        "medium",
        "travel.book:{company:text}",
        "company",
        external=True,
        tags=("financial",),
    ),
    _sends_to("reserve_restaurant", "medium", "travel.book:{restaurant:text}", "restaurant", external=True),
    SEND_EMAIL,
)

# ---------------------------------------------------------------------------
# Banking.

BANKING: Tuple[Tool, ...] = (
    Tool("get_iban", "low", ("bank.read:account",), read=True),
    # The recipient is an IBAN or a payee's name ("Spotify"): text.
    _sends_to(
        "send_money",
        "high",
        "bank.pay:{recipient:text}",
        "recipient",
        external=True,
        tags=("financial",),
        reversible=False,
    ),
    # Reversible: a scheduled payment can be changed or removed before it runs.
    _sends_to(
        "schedule_transaction",
        "high",
        "bank.pay:{recipient:text}",
        "recipient",
        external=True,
        tags=("financial",),
    ),
    Tool(
        "update_scheduled_transaction",
        "high",
        ("bank.schedule.update:{id}", "bank.pay:{recipient?:text}"),
        targets=("bank.pay:{recipient?:text}",),
        external=True,
        sink=True,
        tags=("financial",),
        destination_arg="recipient",
    ),
    Tool("get_balance", "low", ("bank.read:account",), read=True),
    # Incoming transactions' subjects are written by whoever sends money.
    Tool("get_most_recent_transactions", "low", ("bank.read:account",), read=True, result_labels=UNTRUSTED),
    # Judgement: standing orders are set up by the user: not labelled.
    Tool("get_scheduled_transactions", "low", ("bank.read:account",), read=True),
    # Bills, notices and letters in the user's files come from outside parties.
    Tool("read_file", "low", ("files.read:{file_path:path}",), read=True, result_labels=UNTRUSTED),
    Tool("get_user_info", "low", ("profile.read:own",), read=True, reads=("pii",)),
    # Account takeover steps: a new password locks the owner out; a new postal address
    # redirects cards and statements. High impact, and the password is never recorded.
    Tool("update_password", "high", ("bank.credentials.update:own",), sensitive_args=("password",)),
    Tool("update_user_info", "high", ("profile.update:own",)),
)

# ---------------------------------------------------------------------------
# Slack. Workspace members are inside the organisation (DMs and channel posts are sinks, not
# external); invitations and the web reach outside.

SLACK: Tuple[Tool, ...] = (
    # Channel names are chosen by whoever creates a channel.
    Tool("get_channels", "low", ("slack.read:channels",), read=True, result_labels=UNTRUSTED),
    Tool(
        "add_user_to_channel",
        "medium",
        ("slack.channel.add:{channel:text}", "slack.member:{user:text}"),
        targets=("slack.channel.add:{channel:text}", "slack.member:{user:text}"),
        sink=True,  # the user gets to read the channel's messages
        tags=("rbac",),
        destination_arg="user",
    ),
    Tool("read_channel_messages", "low", ("slack.read:{channel:text}",), read=True, result_labels=UNTRUSTED),
    Tool("read_inbox", "low", ("slack.read.inbox:{user:text}",), read=True, result_labels=UNTRUSTED),
    _sends_to("send_direct_message", "medium", "slack.dm:{recipient:text}", "recipient"),
    _sends_to("send_channel_message", "medium", "slack.post:{channel:text}", "channel"),
    # Members choose their own display names.
    Tool("get_users_in_channel", "low", ("slack.read:{channel:text}",), read=True, result_labels=UNTRUSTED),
    _sends_to(
        "invite_user_to_slack",
        "medium",
        "slack.invite:{user_email:email}",
        "user_email",
        external=True,
        tags=("rbac",),
    ),
    # Judgement: a removed member can be invited again: reversible; `rbac` asks a human.
    Tool(
        "remove_user_from_slack",
        "medium",
        ("slack.remove:{user:text}",),
        targets=("slack.remove:{user:text}",),
        tags=("rbac",),
    ),
    # the URL (path, query) carries data out
    _sends_to("get_webpage", "low", "web.fetch:{url:url}", "url", external=True, result_labels=UNTRUSTED),
    _sends_to(
        "post_webpage",
        "medium",
        "web.post:{url:url}",
        "url",
        external=True,
        sensitive_args=("content",),
    ),
)

SUITES: Dict[str, Tuple[Tool, ...]] = {
    "workspace": WORKSPACE,
    "travel": TRAVEL,
    "banking": BANKING,
    "slack": SLACK,
}

# AgentDojo's web tools take host/path strings without a scheme ("www.informations.com");
# the guard's `{url:url}` takes absolute URLs only. The fetch a real tool makes for such a
# string is https://host/path, so that is the URL the guard is shown (and the tool would use).
_URL_ARGS = {"get_webpage": "url", "post_webpage": "url"}


def with_scheme(value: str) -> str:
    return value if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", value) else "https://" + value


def call_args(tool: str, args: Mapping[str, Any]) -> Dict[str, Any]:
    """The args the guard sees for one AgentDojo call."""
    out = dict(args)
    arg = _URL_ARGS.get(tool)
    if arg is not None and isinstance(out.get(arg), str):
        out[arg] = with_scheme(out[arg])
    return out


def tools_by_name(suite: str) -> Dict[str, Tool]:
    return {tool.name: tool for tool in SUITES[suite]}


def check_coverage(suite: str, names: Sequence[str]) -> List[str]:
    """The suite's tool names that have no spec (should be empty)."""
    known = tools_by_name(suite)
    return [name for name in names if name not in known]
