"""Support-ticket wording: templates per route, slot values, and a fast seeded renderer.

The templates are plain data so they are easy to review and extend. A template is a string
with `{slot}` fields (order numbers, amounts, products, ...); `TextRenderer` compiles each one
once into a %-format string plus the slot pools it draws from, so rendering a ticket costs
a few cheap `random()` calls and one string formatting. Faker is not used here: the
synthetic generator needs millions of renders per run and Faker is ~100x slower.

The standard routes' bodies are as hard to read without a model as real customer text:
clear requests, but also paraphrases, indirect wording, another team's vocabulary, and a
misspelt variant of every body (`misspell`). `benchmarks/keyword_router.py` checks that a
keyword router reads them about as well as it reads real tickets, no better.

Routes outside `STANDARD_ROUTES` get `GENERIC` templates in which `{topic}` / `{Topic}` is the
route label written as words ("order_status" -> "order status"), so the route stays
recoverable from the text.
"""

from __future__ import annotations

import functools
import random
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Template content
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteTemplates:
    """Everything a route needs: first messages, subjects, vague versions, passing mentions.

    `passing` is the route mentioned as a side remark inside another issue's message (the
    setup for a mind change); `ambiguous` is vague text that fits this route only weakly.
    """

    bodies: tuple[str, ...]
    subjects: tuple[str, ...]
    ambiguous: tuple[str, ...]
    passing: tuple[str, ...]


BILLING = RouteTemplates(
    bodies=(
        "I was charged {amount} twice this month for my {plan} plan. Card ending {last4}. "
        "Can you fix the billing please?",
        "why is my invoice {invoice} {big_amount}?? my plan is supposed to be way cheaper "
        "than that",
        "Can I get a copy of the invoice for {date}? Our accounting team needs it with our "
        "VAT number on it.",
        "My card ending in {last4} expired and now the payment keeps failing. How do I update "
        "the card on file?",
        "I upgraded to {plan} on {date} and got billed the full price instead of the prorated "
        "amount. Please explain the {big_amount} charge.",
        "There's a charge of {amount} on my bank statement from you that I don't recognise. "
        "I haven't bought anything since {date}.",
        "I want to switch from monthly to annual billing on the {plan} plan, how does the "
        "discount work?",
        "payment declined again. tried {payment} and my card ending {last4}, both fail at "
        "checkout. pls help",
        "Our finance team needs the invoices sent to a shared mailbox instead of my personal "
        "email. Can you change the billing contact?",
        "The monthly price went from {amount} to {big_amount} without any notice. Is this a "
        "mistake on my bill?",
        "I keep getting emails saying my payment is overdue but I paid {amount} on {date} with "
        "{payment}. Can you check your records?",
        "Do you charge sales tax? My last bill had an extra {amount} on top of the plan price "
        "and I'm not sure what it's for.",
        "Short version: we got billed for 5 seats, we only have 3 users. Invoice {invoice}.",
        "I need a receipt for the {amount} payment I made on {date} for my expense report, "
        "the billing page only shows the last month.",
        # Said without the usual words, or in another team's words: real customers write
        # like this, and a keyword router gets these wrong.
        "You took {amount} from me on {date} and I have no idea what it was for. I'm on the "
        "{plan} plan.",
        "How much is the {plan} plan per month now? The number I see when I upgrade is "
        "different from the one on your website.",
        "we're a nonprofit, is there a discount on {plan}? the monthly cost is hard for us to "
        "justify",
        "My bank flagged a {big_amount} debit from your company as suspicious. Was that "
        "really you?",
        "I cancelled nothing and changed nothing, yet this month I owe {big_amount}. Who can "
        "explain what I'm paying for?",
        "The checkout page gave me {error} but the money still left my account. Did it go "
        "through or not?",
        "I moved from {plan} to Starter on {date} but paid the full {plan} amount again. Can "
        "someone log in and look at what I paid?",
        "Can you set up our company account so we pay by bank transfer every quarter "
        "instead of every month?",
        "Hello, could you resend the receipt for my last payment? I deleted the email by "
        "mistake.",
        "the amount on my statement doesnt match the price on your site for {plan}",
    ),
    subjects=(
        "Billing question",
        "Problem with my bill",
        "Charge on my card",
        "Invoice question",
        "Payment issue",
        "wrong amount charged??",
    ),
    ambiguous=(
        "Something is wrong with a charge on my account, please help.",
        "The amount on my card doesn't look right. What's going on?",
        "I need to sort out a money issue from {date}, can someone call me?",
        "there's a problem with what you took from my card",
    ),
    passing=(
        "(Also my last invoice looked higher than usual, but that's a separate thing.)",
        "Side note, I think I was charged {amount} twice last month, but whatever.",
        "I also had a question about a charge on my card ending {last4}, but first things "
        "first.",
        "Also my payment method needs updating at some point.",
    ),
)

TECHNICAL = RouteTemplates(
    bodies=(
        "The app keeps crashing on my {device} every time I open {feature}. Already "
        "reinstalled twice.",
        "Getting {error} when I try to load the dashboard in {browser}. It worked fine "
        "yesterday.",
        "Sync is broken. Changes I make on my {device} don't show up on the web version, "
        "been like this since {date}.",
        "hey the {feature} button does nothing in {browser}, no error, nothing happens. "
        "tried clearing cache already",
        "Your API returns 500 errors for about half of our requests since {date}. "
        "Reference {error}. This is blocking our release.",
        "After the latest update the app is super slow on my {device}, takes like 30 secs "
        "to load anything",
        "Notifications stopped working on my {device}. I've checked the settings on my "
        "phone and they're all on.",
        "I can't upload files bigger than a few MB, it just spins forever and then says "
        "{error}.",
        "The page is completely blank in {browser} on my {device}. Other sites load fine.",
        "How do I connect the Slack integration? The setup wizard fails at step 3 with "
        "{error}.",
        "{feature} is broken — the exported file won't open in Excel, it says the file is "
        "corrupted.",
        "bug report: dark mode makes the text invisible in the app on {device}. "
        "screenshot attached",
        "The {product} won't pair with the app over bluetooth. Firmware says up to date, "
        "I've reset it 3 times.",
        "Is there an outage? Nothing loads for me since this morning, just {error}.",
        # Said without the usual words, or in another team's words.
        "Every time I try to save my changes the page just freezes and I have to reload. "
        "Nothing gets saved.",
        "{feature} stopped doing anything on my {device} after your update on {date}.",
        "I get a white screen with a spinning wheel in {browser}, it never finishes loading.",
        "Is something down on your side? {feature} times out for our whole team.",
        "The payment page crashes when I try to add my card ({error}). I just want to pay!",
        "Since I changed my password and my profile photo the app only shows a spinner on "
        "my {device}.",
        "The tracking page on your site won't load in {browser}, it's just blank.",
        "Whenever I open an invoice in the app it closes itself. Happens on my {device} and "
        "my {device}.",
        "I keep hitting a bug where {feature} duplicates every entry. Can your engineers "
        "take a look?",
        "your app is broken on my {device} since the last update, pls fix",
    ),
    subjects=(
        "App not working",
        "Bug report",
        "Error message",
        "Broken since the update",
        "technical issue",
        "cant get it to work",
    ),
    ambiguous=(
        "It just doesn't work anymore. I've tried everything I can think of.",
        "Something's broken on my end since {date}, please help.",
        "I can't get in anymore and I don't know why.",
        "keeps giving me an error whenever I try to do anything",
    ),
    passing=(
        "Also the app keeps crashing on my {device}, but one thing at a time.",
        "(Separately, {feature} hasn't worked in {browser} for a while.)",
        "There's also a bug with {feature} I wanted to report at some point.",
        "Oh and I keep getting {error} on the dashboard, but that's minor.",
    ),
)

ACCOUNT = RouteTemplates(
    bodies=(
        "I can't log in, the password reset email never arrives. I've checked spam. "
        "My email is the one on this ticket.",
        "How do I change the email address on my account? I no longer have access to my "
        "old work email.",
        "My account got locked after too many login attempts, can you unlock it?",
        "I think someone else got into my account — there's a login from {city} on {date} "
        "that wasn't me.",
        "please merge my two accounts, I accidentally signed up twice with different emails",
        "I need to make a new team member an admin but the option is greyed out for me.",
        "Lost my phone and can't get the two-factor code anymore. How do I get back into my "
        "account?",
        "Can you send me a copy of all the personal data you hold about me? This is a GDPR "
        "access request.",
        "How do I change my username? it still shows my maiden name",
        "The owner of our workspace left the company. How do we transfer ownership of the "
        "account to me?",
        "I verified my email on {date} but my profile still says unverified and I can't "
        "access anything.",
        "i want to update my phone number and address on my profile but it won't let me save",
        "Need to reset my password but the link says it expired, tried 3 times today.",
        # Said without the usual words, or in another team's words.
        "I forgot which email I signed up with and now I can't get in. Can you look me up "
        "by my name?",
        "Please change the email address in my settings to my new work address.",
        "My colleague left the company and we need her seat moved over to me as the admin.",
        "I'd like to turn on two-factor authentication but I can't find where to do it.",
        "The reset link you send says {error} so I'm stuck outside my own workspace.",
        "I need to update the card holder name on my profile, it still has my old name.",
        "Someone else's orders and deliveries show up when I'm signed on. Is my data mixed "
        "up with another customer's?",
        "Can I merge my two logins into one? I made a second one by accident on {date}.",
        "Locked out after too many attempts, please unlock me",
        "How do I change my login email? The old address is gone.",
    ),
    subjects=(
        "Can't log in",
        "Account access",
        "Problem with my account",
        "Login issue",
        "Account settings",
        "need help with my profile",
    ),
    ambiguous=(
        "Something is wrong with my account, please help.",
        "My profile looks weird and some stuff is missing since {date}.",
        "I can't access what I'm supposed to have access to.",
        "need help with my login thing asap",
    ),
    passing=(
        "I also need to change the email on my account at some point.",
        "(Also I keep getting locked out of my account, but that's another story.)",
        "And my password reset link never works either, but later.",
        "I also still need to add a colleague as an admin on our account.",
    ),
)

SHIPPING = RouteTemplates(
    bodies=(
        "Where is my order {order}? Tracking hasn't updated since {date}.",
        "My package says delivered but it's not here. Order {order}, shipped with {carrier}.",
        "Can I change the shipping address on order {order}? I moved last week, new address "
        "is in {city}.",
        "It's been {days} days and my {product} still hasn't shipped. When will it go out?",
        "The {carrier} tracking number {tracking} has said 'label created' for a week now. "
        "Has it actually shipped?",
        "Do you ship to Canada? And how long does express delivery take?",
        "Order {order} was supposed to arrive {date}, still nothing. Can you check with "
        "{carrier}?",
        "Order {order} was split into two packages and I've only received one. Where's the "
        "other one?",
        "Can I upgrade to express shipping? I need the {product} before {date}.",
        "Tracking says my package is stuck in customs. Do I need to do something?",
        "hi my order {order} shows shipped to my OLD address?? I updated it before checkout",
        "The courier left a note saying they couldn't deliver. How do I reschedule delivery "
        "for order {order}?",
        "What carrier do you use for {city}? my building doesn't accept {carrier} deliveries",
        # Said without the usual words, or in another team's words.
        "It's been two weeks and my {product} still hasn't turned up. Where is it?",
        "The box arrived crushed and the {product} inside is dented.",
        "Can I pick up order {order} from a store in {city} instead of waiting for it?",
        "My order {order} says it's in {city} but it hasn't moved for five days.",
        "I was charged for express {carrier} but it came by regular post a week late.",
        "The courier left my {product} at the wrong address and the app shows an error when I "
        "try to report it.",
        "Can you cancel the {carrier} pickup? I'm home on {date} instead, just bring it then.",
        "Order {order} never came. Should I ask for my money back or will you send another?",
        "Could you give me a tracking number for order {order}? The confirmation email didn't "
        "have one.",
        "when will my package get here? ordered it {date}",
    ),
    subjects=(
        "Where is my order?",
        "Delivery problem",
        "Shipping question",
        "Package hasn't arrived",
        "Tracking not updating",
        "order status?",
    ),
    ambiguous=(
        "I still don't have my order and I'm not happy about it. What are my options?",
        "The {product} situation is a mess, I need this resolved.",
        "Problem with order {order}, please contact me.",
        "what's going on with my {product}??",
    ),
    passing=(
        "Also my other order {order} still hasn't arrived, but let's deal with this first.",
        "(I'm also still waiting on tracking for order {order}.)",
        "I also wanted to change the delivery address on my next order, but no rush.",
        "Plus the {product} I ordered on {date} is still not here, but anyway.",
    ),
)

REFUND = RouteTemplates(
    bodies=(
        "I returned the {product} on {date} and still haven't gotten my money back. "
        "Order {order}.",
        "I'd like a refund for order {order}, the {product} stopped working after two days.",
        "Please refund the {amount} you charged me after I cancelled. I have the "
        "confirmation email.",
        "How long do refunds take to show up on my card? It's been {days} days.",
        "The {product} arrived damaged. I want my money back, not a replacement.",
        "You said the refund was processed on {date} but there's nothing on my {payment} "
        "statement. It was {amount}.",
        "I was charged {big_amount} for an annual renewal I forgot about. Can I get a refund? "
        "I haven't used it at all since.",
        "Can I return the {product} for a full refund? Bought it {days} days ago, still in "
        "the box.",
        "got a partial refund of {amount} but I paid {big_amount}, where's the rest?",
        "I'd like to use your 30-day money back guarantee please. Signed up on {date}.",
        "The refund went to my old card ending {last4} which is closed now. What happens to "
        "the money?",
        "I've given up waiting for order {order}. Please just refund it.",
        "my kid bought a {product} by accident on my account, can I get that refunded? "
        "it was {amount}",
        # Said without the usual words, or in another team's words.
        "I returned the {product} on {date} and still haven't seen the {amount} come back to "
        "me.",
        "The {product} was faulty and I sent it back. How long until I'm paid back?",
        "You agreed on the phone to return the {amount} to me. Nothing has arrived yet.",
        "I'd like the {amount} I paid for the add-on returned, I never used it.",
        "Please put the {big_amount} back on my card ending {last4}, the order was never "
        "delivered.",
        "I cancelled within the trial but you still charged {amount}. I want it returned.",
        "The refund form gives me {error} every time I submit it.",
        "Your invoice says a credit of {amount} was issued on {date}, but my bank shows "
        "nothing.",
        "Can I get a refund for the {product}? It doesn't fit.",
        "still waiting on my money back for order {order}",
    ),
    subjects=(
        "Refund request",
        "Where is my refund?",
        "Money back please",
        "Requesting a refund",
        "refund",
        "Refund status",
    ),
    ambiguous=(
        "Can you look into the money from order {order}?",
        "I'm not happy with what I paid for, what can you do?",
        "There's an issue with the {amount} from {date}.",
        "I paid for something that didn't work out, please sort it out.",
    ),
    passing=(
        "I'm also still waiting on a refund for the {product} I sent back, but that can wait.",
        "(There's also the {amount} refund you still owe me, but later.)",
        "I'd also like my money back for order {order} eventually.",
        "Also I never got refunded for the return I made on {date}, but that's another topic.",
    ),
)

CANCELLATION = RouteTemplates(
    bodies=(
        "Please cancel my subscription. I don't want it to renew on {date}.",
        "How do I cancel my {plan} plan? I can't find the option anywhere in settings.",
        "I want to cancel order {order} before it ships, I placed it by mistake.",
        "We're moving to another tool, please cancel our {plan} subscription at the end of "
        "the current period.",
        "cancel my membership pls. been trying for an hour.",
        "Can I pause my subscription instead of cancelling? Going travelling for {days} "
        "weeks.",
        "I cancelled last month but my plan still shows as active. Can you confirm it's "
        "actually cancelled?",
        "Please turn off auto-renewal, I only wanted one year of {plan}.",
        "I started the free trial on {date} and want to cancel before I get charged.",
        "Please close my account and cancel all future payments. Not using it anymore.",
        "If I cancel my {plan} plan now, do I lose my data right away or do I have until the "
        "end of the month?",
        "Downgrading isn't enough, I want to cancel completely. Thanks.",
        "How do I cancel one of the seats on our team plan? Someone left the company.",
        # Said without the usual words, or in another team's words.
        "Please stop my subscription at the end of this month. We're moving to another tool.",
        "I don't want to renew when my {plan} plan runs out on {date}.",
        "How do I end my membership? I can't find the option anywhere.",
        "We're closing the business, please don't renew anything for us after {date}.",
        "Stop billing me. I want out of the {plan} plan today.",
        "I want to delete my account and all my data.",
        "Don't send the next box, I'm done with the subscription. The last shipment is the "
        "final one.",
        "Your app crashes whenever I try to cancel, so please just cancel {plan} for me.",
        "Please cancel my order {order}, I ordered the wrong size.",
        "unsubscribe me from the {plan} plan, thanks",
    ),
    subjects=(
        "Cancel subscription",
        "Cancellation request",
        "Please cancel",
        "How do I cancel?",
        "cancel my plan",
        "Stop my subscription",
    ),
    ambiguous=(
        "I don't want this anymore. What do I need to do?",
        "How do I stop all of this?",
        "Please stop everything on my plan from {date}.",
        "I'm done with this service.",
    ),
    passing=(
        "I'm honestly thinking about cancelling my subscription altogether, but let's see.",
        "(Also I might want to cancel my {plan} plan, not sure yet.)",
        "And I want to cancel order {order} too, but that's separate.",
        "Also please don't let my plan renew on {date}, I'll sort that out later.",
    ),
)

STANDARD_ROUTES: dict[str, RouteTemplates] = {
    "billing": BILLING,
    "technical": TECHNICAL,
    "account": ACCOUNT,
    "shipping": SHIPPING,
    "refund": REFUND,
    "cancellation": CANCELLATION,
}

# Any other route label: `{topic}` is the label as words, `{Topic}` the same capitalised.
GENERIC = RouteTemplates(
    bodies=(
        "I have a question about {topic} for order {order}. Who can help?",
        "I need help with {topic}. It's been an issue since {date}.",
        "Not sure I'm in the right place but this is about {topic}: nothing I try seems to "
        "work.",
        "{Topic} problem again. Third time contacting you about it this month.",
        "Can someone from the {topic} team get back to me? My order is {order}.",
        "quick question about {topic} — how does it work on the {plan} plan?",
        "I'd like to speak to someone who handles {topic}, please. It's about {amount}.",
        "My issue is related to {topic}. I contacted you on {date} and never heard back.",
        "I'm writing regarding {topic} for my {product}. What are the next steps?",
        "Please forward this to whoever does {topic}. It's about the {product} from order "
        "{order}.",
        "{Topic}: still waiting on an answer, please help asap",
        "Where do I go for {topic}? Your help center doesn't cover my case.",
    ),
    subjects=(
        "{Topic} question",
        "Help with {topic}",
        "Re: {topic}",
        "{Topic} issue",
        "Question regarding {topic}",
        "{Topic}??",
    ),
    ambiguous=(
        "I think this might be about {topic}, or maybe not — something just isn't right "
        "since {date}.",
        "Not sure if this counts as {topic} but something's off with order {order}.",
        "Something is wrong, maybe {topic}? Please help.",
        "I have a problem and I'm not sure who handles it, possibly {topic}.",
    ),
    passing=(
        "(I also have a separate question about {topic}, but that can wait.)",
        "Also, there's something about {topic} I need to ask later.",
        "I'll need help with {topic} at some point too.",
        "Plus an issue with {topic}, but that's not urgent.",
    ),
)

# Follow-ups that change the request to the issue mentioned in passing. They name no route:
# only the earlier message says what "the other thing" is.
MIND_CHANGE_FOLLOW_UPS: tuple[str, ...] = (
    "Actually, forget my first question — the other thing I mentioned is what I really need "
    "sorted.",
    "On second thought, the first part isn't urgent. Can you deal with the other issue I "
    "brought up instead?",
    "Sorry, ignore what I asked first. The second thing is the one that matters.",
    "actually nvm the main question, I figured it out. just need help with the other thing "
    "i mentioned",
    "Update: the first problem sorted itself out. Please focus on the other issue from my "
    "message.",
    "Scratch that, my original question is resolved. It's the side issue I mentioned that I "
    "need help with now.",
    "Never mind the first part. Could someone look at the other thing from my earlier "
    "message?",
    "Hi again — please disregard my first request, the other problem I mentioned is more "
    "important.",
)

# Joins two issues in one message.
MULTI_ISSUE_CONNECTORS: tuple[str, ...] = (
    "\n\nAlso, a separate problem: ",
    "\n\nSecond thing: ",
    " And one more issue while I have you. ",
    "\n\nP.S. ",
    "\n\nAlso:\n",
    " Unrelated, but: ",
)

MULTI_ISSUE_SUBJECTS: tuple[str, ...] = (
    "A couple of problems",
    "Two issues",
    "Several things",
    "Multiple questions",
)

VAGUE_SUBJECTS: tuple[str, ...] = (
    "Help",
    "Problem",
    "Question",
    "Urgent!!",
    "Please help",
    "(no subject)",
    "Issue",
)

GREETINGS: tuple[str, ...] = ("", "", "", "Hi,\n\n", "Hello,\n\n", "Hi there! ", "Hey!\n",
                              "Good morning,\n\n", "Hi support team,\n\n")

# Subjects are route-level and slot-free so they never contradict the body's details.
# `{name}` in a sign-off is the customer's first name, filled at render time.
SIGN_OFFS: tuple[str, ...] = ("", "", "", " Thanks", "\n\nThanks,\n{name}",
                              "\n\nRegards,\n{name}", " thx", "\n\nCheers, {name}")

# --------------------------------------------------------------------------------------------
# Slot values
# --------------------------------------------------------------------------------------------

STATIC_SLOTS: dict[str, tuple[str, ...]] = {
    "product": ("wireless earbuds", "Aero 2 standing desk", "smart thermostat", "blender",
                "4K monitor", "running shoes", "espresso machine", "robot vacuum",
                "kids' tablet", "mechanical keyboard", "hiking backpack", "air purifier",
                "phone case", "smartwatch", "office chair", "e-reader"),
    "device": ("iPhone 14", "iPhone 12", "Pixel 7", "Galaxy S23", "MacBook Air", "iPad",
               "Windows 11 laptop", "Chromebook", "OnePlus 9", "Android tablet"),
    "browser": ("Chrome", "Safari", "Firefox", "Edge", "Brave", "Chrome on Android"),
    "plan": ("Pro", "Business", "Starter", "Team", "Premium", "Basic", "Enterprise"),
    "feature": ("CSV export", "calendar sync", "the search", "file sharing", "reports",
                "the invoice download", "two-way sync", "the photo upload", "dashboards"),
    "payment": ("PayPal", "Apple Pay", "my Visa", "my Mastercard", "Amex", "Google Pay",
                "a bank transfer"),
    "carrier": ("UPS", "FedEx", "USPS", "DHL", "Royal Mail", "Canada Post"),
    "city": ("Denver", "Austin", "Leeds", "Toronto", "Lyon", "Melbourne", "Chicago",
             "Dublin", "Seattle", "Manchester", "Phoenix", "Berlin"),
    "date": ("March 3rd", "last Tuesday", "yesterday", "the 14th", "Monday", "last week",
             "June 2", "the 1st", "10/12", "two days ago", "Friday", "January 28"),
    "error": ("error 502", "ERR_CONNECTION_RESET", "error code 403", "E1042",
              "'Something went wrong'", "0x80070005", "a 500 Internal Server Error",
              "'Request timed out'", "error 429"),
}

def _order_number(r: random.Random) -> str:
    return r.choice(("#", "#", "", "ORD-")) + str(r.randrange(1_000_000, 10_000_000))


def _amount(r: random.Random) -> str:
    return f"${r.randrange(5, 150)}.{r.choice(('00', '99', '49', '95'))}"


def _big_amount(r: random.Random) -> str:
    return f"${r.randrange(150, 900)}.{r.choice(('00', '99', '50'))}"


def _tracking(r: random.Random) -> str:
    return "1Z" + "".join(r.choice(string.ascii_uppercase + string.digits) for _ in range(16))


# Numeric slots are generated once per seed: (slot, how many values, maker).
_GENERATED: tuple[tuple[str, int, Callable[[random.Random], str]], ...] = (
    ("order", 4096, _order_number),
    ("invoice", 1024, lambda r: f"INV-{r.randrange(10_000, 100_000)}"),
    ("amount", 1024, _amount),
    ("big_amount", 1024, _big_amount),
    ("last4", 1024, lambda r: f"{r.randrange(0, 10_000):04d}"),
    ("days", 64, lambda r: str(r.randrange(3, 22))),
    ("tracking", 1024, _tracking),
)


def slot_pools(rng: random.Random) -> dict[str, tuple[str, ...]]:
    """All slot values: the static lists plus numeric ones generated from `rng`."""
    pools = dict(STATIC_SLOTS)
    for name, count, make in _GENERATED:
        pools[name] = tuple(make(rng) for _ in range(count))
    return pools


def topic_words(route: str) -> str:
    """A route label as words a customer would write: 'order_status' -> 'order status'."""
    return " ".join(route.replace("_", " ").replace("-", " ").split())


#: Longer words a misspelt variant gets wrong (customers in a hurry, phone keyboards).
TYPOS_PER_BODY = 1
_WORD = re.compile(r"[A-Za-z]{4,}")


def misspell(template: str, rng: random.Random, words: int = TYPOS_PER_BODY) -> str:
    """`template` with up to `words` of its words of 4+ letters misspelt: two inner letters
    swapped, one dropped or one doubled. `{slot}` fields are left alone."""
    parts = list(string.Formatter().parse(template))
    spans = [(i, m.start(), m.end()) for i, (literal, *_rest) in enumerate(parts)
             for m in _WORD.finditer(literal)]
    chosen = sorted(rng.sample(spans, min(words, len(spans))), reverse=True)
    literals = [literal for literal, *_rest in parts]
    for i, start, end in chosen:
        word = literals[i][start:end]
        literals[i] = literals[i][:start] + _typo(word, rng) + literals[i][end:]
    out = []
    for literal, (_lit, field, spec, conv) in zip(literals, parts, strict=True):
        out.append(_escape(literal))
        if field is not None:
            out.append("{" + field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                       + "}")
    return "".join(out)


def _typo(word: str, rng: random.Random) -> str:
    k = 1 + int(rng.random() * (len(word) - 2))  # an inner position: first letter kept
    kind = rng.random()
    if kind < 0.4 and k < len(word) - 1:
        return word[:k] + word[k + 1] + word[k] + word[k + 2:]
    if kind < 0.7:
        return word[:k] + word[k + 1:]
    return word[:k] + word[k] + word[k:]


@functools.cache
def _standard(route: str) -> RouteTemplates:
    """A standard route's templates, every body also in a misspelt variant (fixed: the
    same typos every run, like the rest of the template data)."""
    t = STANDARD_ROUTES[route]
    rng = random.Random(f"simharness.typos:{route}")
    return RouteTemplates(bodies=t.bodies + tuple(misspell(b, rng) for b in t.bodies),
                          subjects=t.subjects, ambiguous=t.ambiguous, passing=t.passing)


def templates_for(route: str) -> RouteTemplates:
    """Standard templates for a standard route (with misspelt variants of its bodies), else
    the generic ones naming the route (never misspelt: the route must stay readable)."""
    key = route.strip().lower()
    if key in STANDARD_ROUTES:
        return _standard(key)
    topic = topic_words(route)
    fill = {"topic": topic, "Topic": topic[:1].upper() + topic[1:]}

    def sub(texts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_fill_fixed(t, fill) for t in texts)

    return RouteTemplates(bodies=sub(GENERIC.bodies), subjects=sub(GENERIC.subjects),
                          ambiguous=sub(GENERIC.ambiguous), passing=sub(GENERIC.passing))


def _fill_fixed(text: str, values: Mapping[str, str]) -> str:
    """Substitute the fields in `values` now and keep every other `{slot}` for later."""
    out = []
    for literal, field, spec, conv in string.Formatter().parse(text):
        out.append(_escape(literal))
        if field is None:
            continue
        if field in values:
            out.append(_escape(values[field]))
        else:
            out.append("{" + field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                       + "}")
    return "".join(out)


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

# A compiled template: (%-format string, or the literal text when it has no slots; the pool
# each `%s` draws from). %-formatting is used because it is about twice as fast as str.format.
Compiled = tuple[str, tuple[tuple[str, ...], ...]]


class TextRenderer:
    """Renders compiled templates with one shared `random.Random` (cheap per-slot draws)."""

    def __init__(self, pools: Mapping[str, Sequence[str]], rng: random.Random) -> None:
        self._pools = {name: tuple(values) for name, values in pools.items()}
        self._random = rng.random

    def compile(self, text: str) -> Compiled:
        """Turn '{order} ...' into '%s ...' plus the pool for each field, once."""
        fmt: list[str] = []
        literal_text: list[str] = []
        pools: list[tuple[str, ...]] = []
        for literal, field, _spec, _conv in string.Formatter().parse(text):
            fmt.append(literal.replace("%", "%%"))
            literal_text.append(literal)
            if field is None:
                continue
            if field not in self._pools:
                raise KeyError(f"template slot {{{field}}} has no values: {text!r}")
            fmt.append("%s")
            pools.append(self._pools[field])
        if not pools:
            return "".join(literal_text), ()
        return "".join(fmt), tuple(pools)

    def compile_all(self, texts: Sequence[str]) -> tuple[Compiled, ...]:
        """Compile a list of templates."""
        return tuple(self.compile(t) for t in texts)

    def render(self, template: Compiled) -> str:
        """Fill every slot with a uniformly drawn value."""
        fmt, pools = template
        if not pools:
            return fmt
        r = self._random
        if len(pools) == 1:
            pool = pools[0]
            return fmt % pool[int(r() * len(pool))]
        return fmt % tuple([p[int(r() * len(p))] for p in pools])

    def pick(self, templates: Sequence[Compiled]) -> str:
        """Render one template drawn uniformly from `templates`."""
        return self.render(templates[int(self._random() * len(templates))])
