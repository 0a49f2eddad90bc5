"""The demo clinic of DESIGN.md: techniques, therapists with certifications, rooms, accounts.

`seed_demo` is idempotent: it adds what is missing and leaves what exists alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from clinic.auth.models import Role, User
from clinic.auth.operations import create_user
from clinic.catalog.models import (
    Certification,
    Pressure,
    Room,
    Technique,
    TechniqueOption,
    Therapist,
)
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy, WorkingHours
from clinic.screening.operations import current_screening, submit_screening
from clinic.screening.rules import questions

DEMO_DOMAIN = "lindring.example"
DEMO_PASSWORD = "demo-password"  # noqa: S105 (published demo accounts)

TECHNIQUES: list[dict] = [
    {
        "slug": "sports-massage",
        "name": "Sports massage",
        "pressure": Pressure.DEEP,
        "summary": "Firm, focused work on the deep muscles of the back and hips, "
        "for active people and for pain that comes from strain and overuse.",
        "description": (
            "Sports massage works with firm pressure on the deeper layers of muscle. The "
            "therapist finds the areas that are tight or overworked, often in the lower back, "
            "the buttocks and the hips, and works them with kneading, stroking and stretching.\n\n"
            "It suits people who train, who have a physical job, or who are getting back to "
            "activity after a strain. Expect some tenderness during the session and for a day or "
            "two after it; tell your therapist at once if the pressure is too much.\n\n"
            "Many clients come weekly while the pain is active, then every two weeks or monthly "
            "to keep it away."
        ),
        "helps_with": (
            "Tight, overworked muscles in the lower back and hips\n"
            "Back pain that comes with training or heavy work\n"
            "Stiffness that limits how you move\n"
            "Getting back to activity after a muscle strain"
        ),
        "not_suitable_for": (
            "A diagnosed disc herniation or pain radiating into a leg, "
            "without a doctor's clearance\n"
            "Fever, an acute infection, or surgery in the last six weeks\n"
            "Blood thinners or a clotting disorder, until we have reviewed your screening\n"
            "A fresh strain or sprain (the last 72 hours)"
        ),
        "options": [(60, 650_00), (90, 925_00)],
    },
    {
        "slug": "trigger-point-therapy",
        "name": "Trigger point therapy",
        "pressure": Pressure.DEEP,
        "summary": "Steady pressure on the small, tender knots in a muscle that send pain "
        "elsewhere, until they let go.",
        "description": (
            "A trigger point is a small, tight spot in a muscle that hurts when pressed and often "
            "sends pain to another place: a knot beside the spine can be felt as an ache in the "
            "buttock or down the side of the hip.\n\n"
            "The therapist locates these points and holds firm pressure on each until the "
            "tension eases, then stretches the muscle. The pressure can feel sharp for a moment; "
            "you and your therapist agree on how much is right.\n\n"
            "Short sessions fit well between other treatments, or as a follow-up to find the "
            "points that keep coming back."
        ),
        "helps_with": (
            "Sharp, local pain in one spot of the lower back\n"
            "Pain that spreads from a knot to the buttock or hip\n"
            "Muscles that tighten again and again in the same place"
        ),
        "not_suitable_for": (
            "Pain, numbness or tingling that runs down a leg, without a doctor's clearance\n"
            "Blood thinners, osteoporosis or a clotting disorder, until reviewed\n"
            "Skin that is broken, infected or inflamed where the pressure would go"
        ),
        "options": [(30, 375_00), (60, 650_00)],
    },
    {
        "slug": "myofascial-release",
        "name": "Myofascial release",
        "pressure": Pressure.GENTLE,
        "summary": "Slow, sustained stretching of the connective tissue around the muscles, "
        "gentle enough for sensitive backs.",
        "description": (
            "Fascia is the thin connective tissue that wraps every muscle. When it stiffens, "
            "movement gets harder and pain can spread over a wide area, "
            "sometimes into the legs.\n\n"
            "In myofascial release the therapist uses slow, steady stretches and light, sustained "
            "pressure, usually without oil, waiting for the tissue to soften rather than forcing "
            "it. It is calm and gentle, and a good choice when firm pressure is too much.\n\n"
            "Clients with long-standing back pain often combine it with the stretches their "
            "therapist gives them for home."
        ),
        "helps_with": (
            "Widespread stiffness and a feeling of being 'bound up'\n"
            "Back pain that reaches into the buttocks or legs\n"
            "Sensitive backs that do not tolerate firm pressure\n"
            "Moving more freely after a long period of pain"
        ),
        "not_suitable_for": (
            "Fever, an acute infection or a contagious skin condition\n"
            "A fracture that has not healed, or surgery in the last six weeks\n"
            "Severe spinal degeneration or stenosis, without a doctor's clearance"
        ),
        "options": [(60, 650_00), (90, 925_00)],
    },
    {
        "slug": "deep-tissue-massage",
        "name": "Deep tissue massage",
        "pressure": Pressure.DEEP,
        "summary": "Slow, deep strokes across the grain of the muscle to loosen long-held "
        "tension and adhesions.",
        "description": (
            "Deep tissue massage reaches the inner layers of muscle and connective tissue with "
            "slow strokes and firm, steady pressure, often with the forearm or elbow.\n\n"
            "It is used for chronic tension: muscles that have been tight for months, or have "
            "shortened from long days at a desk. The work is intense but should never be "
            "unbearable; breathe slowly and say when it is too much.\n\n"
            "Drink water and move gently afterwards; some soreness the next day is common and "
            "passes."
        ),
        "helps_with": (
            "Chronic tension in the lower and middle back\n"
            "Stiffness from long hours of sitting\n"
            "Restricted movement from shortened muscles"
        ),
        "not_suitable_for": (
            "A diagnosed disc herniation, nerve compression or severe degeneration, "
            "without a doctor's clearance\n"
            "Osteoporosis, without a doctor's clearance\n"
            "Blood thinners, pregnancy or a heart condition, until reviewed"
        ),
        "options": [(60, 700_00), (90, 975_00)],
    },
    {
        "slug": "classic-massage",
        "name": "Classic massage",
        "pressure": Pressure.GENTLE,
        "summary": "The familiar Swedish-style massage: long strokes, kneading and a calm pace, "
        "to relax tense muscles and ease everyday back ache.",
        "description": (
            "Classic massage (in Denmark often called physiurgic massage) uses long, gliding "
            "strokes, kneading and gentle friction with oil. It warms the muscles, gets the blood "
            "moving and helps the whole body relax.\n\n"
            "It is a good first treatment if you have not had massage before, and a good way to "
            "keep everyday tension from building up. The pressure is adjusted to you.\n\n"
            "A 30-minute session covers the back; 60 minutes leaves time for the neck, "
            "shoulders and legs too."
        ),
        "helps_with": (
            "Everyday aches and tension in the back, neck and shoulders\n"
            "Stress that settles in the muscles\n"
            "A first massage, or regular upkeep between other treatments"
        ),
        "not_suitable_for": (
            "Fever, an acute infection or a contagious skin condition\n"
            "A blood clot or clotting disorder, without a doctor's clearance\n"
            "Cancer treatment now or in the last five years, without a doctor's clearance"
        ),
        "options": [(30, 350_00), (60, 600_00)],
    },
]


# The same texts in Danish, by slug (Technique.translations["da"]).
TECHNIQUES_DA: dict[str, dict[str, str]] = {
    "sports-massage": {
        "name": "Sportsmassage",
        "summary": "Fast og målrettet arbejde med de dybe muskler i ryg og hofter, til aktive "
        "mennesker og til smerter, der kommer af belastning og overbelastning.",
        "description": (
            "Sportsmassage arbejder med et fast tryk på de dybere lag af musklerne. Behandleren "
            "finder de områder, der er spændte eller overbelastede, ofte i lænden, balderne og "
            "hofterne, og bearbejder dem med æltning, strygninger og udstrækning.\n\n"
            "Den passer til dig, der træner, har et fysisk hårdt arbejde eller er på vej tilbage "
            "til aktivitet efter en forstrækning. Regn med lidt ømhed under behandlingen og en "
            "dag eller to efter; sig straks til din behandler, hvis trykket bliver for hårdt.\n\n"
            "Mange klienter kommer hver uge, mens smerterne står på, og derefter hver anden uge "
            "eller en gang om måneden for at holde dem væk."
        ),
        "helps_with": (
            "Spændte, overbelastede muskler i lænd og hofter\n"
            "Rygsmerter, der følger med træning eller tungt arbejde\n"
            "Stivhed, der begrænser din bevægelighed\n"
            "At komme i gang igen efter en muskelforstrækning"
        ),
        "not_suitable_for": (
            "En diagnosticeret diskusprolaps eller smerter, der stråler ned i et ben, "
            "uden en lægeerklæring\n"
            "Feber, en akut infektion eller en operation inden for de seneste seks uger\n"
            "Blodfortyndende medicin eller en forstyrrelse i blodets størkning, indtil vi har "
            "set dit helbredsskema igennem\n"
            "En frisk forstrækning eller forstuvning (inden for de seneste 72 timer)"
        ),
    },
    "trigger-point-therapy": {
        "name": "Triggerpunktsbehandling",
        "summary": "Et roligt, vedvarende tryk på de små, ømme knuder i musklen, som sender "
        "smerte videre til andre steder, indtil de giver slip.",
        "description": (
            "Et triggerpunkt er et lille, stramt sted i en muskel, som gør ondt, når man trykker "
            "på det, og som ofte sender smerten et andet sted hen: en knude ved siden af "
            "rygsøjlen kan mærkes som en murren i balden eller ned langs hoften.\n\n"
            "Behandleren finder punkterne og holder et fast tryk på hvert af dem, til spændingen "
            "letter, og strækker derefter musklen ud. Trykket kan føles skarpt et øjeblik; du og "
            "din behandler aftaler, hvor meget der er det rigtige.\n\n"
            "Korte behandlinger passer godt ind mellem andre behandlinger, eller som opfølgning "
            "for at finde de punkter, der bliver ved med at komme igen."
        ),
        "helps_with": (
            "Skarp, lokal smerte et bestemt sted i lænden\n"
            "Smerte, der breder sig fra en knude til balden eller hoften\n"
            "Muskler, der spænder op igen og igen samme sted"
        ),
        "not_suitable_for": (
            "Smerter, følelsesløshed eller prikken, der løber ned i et ben, "
            "uden en lægeerklæring\n"
            "Blodfortyndende medicin, knogleskørhed eller en forstyrrelse i blodets størkning, "
            "indtil vi har vurderet det\n"
            "Hud, der er såret, inficeret eller betændt, dér hvor trykket skal sættes ind"
        ),
    },
    "myofascial-release": {
        "name": "Myofascial release",
        "summary": "Langsom, vedvarende udstrækning af bindevævet omkring musklerne, blid nok "
        "til en følsom ryg.",
        "description": (
            "Fascie er det tynde bindevæv, der omgiver hver eneste muskel. Når det bliver stift, "
            "bliver det sværere at bevæge sig, og smerten kan brede sig over et stort område, "
            "nogle gange helt ned i benene.\n\n"
            "Ved myofascial release bruger behandleren langsomme, rolige stræk og et let, "
            "vedvarende tryk, som regel uden olie, og venter på, at vævet bliver blødere, i stedet "
            "for at tvinge det. Behandlingen er rolig og blid og et godt valg, når fast tryk er "
            "for meget.\n\n"
            "Klienter med langvarige rygsmerter kombinerer den ofte med de øvelser, som "
            "behandleren giver dem med hjem."
        ),
        "helps_with": (
            "Udbredt stivhed og en følelse af at sidde fast\n"
            "Rygsmerter, der når ned i balderne eller benene\n"
            "En følsom ryg, der ikke tåler fast tryk\n"
            "At bevæge sig friere efter en lang periode med smerter"
        ),
        "not_suitable_for": (
            "Feber, en akut infektion eller en smitsom hudsygdom\n"
            "Et knoglebrud, der ikke er helet, eller en operation inden for de seneste seks uger\n"
            "Svær slidgigt i ryggen eller spinalstenose, uden en lægeerklæring"
        ),
    },
    "deep-tissue-massage": {
        "name": "Dybdegående vævsmassage",
        "summary": "Langsomme, dybe strøg på tværs af muskelfibrene, som løsner gamle "
        "spændinger og sammenvoksninger.",
        "description": (
            "Dybdegående vævsmassage når ind til de inderste lag af muskler og bindevæv med "
            "langsomme strøg og et fast, roligt tryk, ofte med underarmen eller albuen.\n\n"
            "Den bruges mod kroniske spændinger: muskler, der har været stramme i månedsvis, "
            "eller som er blevet forkortede af lange dage ved skrivebordet. Arbejdet er intenst, "
            "men det må aldrig blive uudholdeligt; træk vejret roligt, og sig til, når det er "
            "for meget.\n\n"
            "Drik vand, og bevæg dig roligt bagefter; lidt ømhed dagen efter er almindeligt og "
            "går over."
        ),
        "helps_with": (
            "Kroniske spændinger i lænden og midt på ryggen\n"
            "Stivhed efter mange timers stillesiddende arbejde\n"
            "Nedsat bevægelighed på grund af forkortede muskler"
        ),
        "not_suitable_for": (
            "En diagnosticeret diskusprolaps, en klemt nerve eller svær slidgigt i ryggen, "
            "uden en lægeerklæring\n"
            "Knogleskørhed, uden en lægeerklæring\n"
            "Blodfortyndende medicin, graviditet eller en hjertesygdom, indtil vi har vurderet det"
        ),
    },
    "classic-massage": {
        "name": "Klassisk massage",
        "summary": "Den velkendte svenske massage med lange strøg, æltning og et roligt tempo, "
        "der får spændte muskler til at slappe af og letter hverdagens ømhed i ryggen.",
        "description": (
            "Klassisk massage (i Danmark ofte kaldet fysiurgisk massage) bruger lange, glidende "
            "strøg, æltning og blid friktion med olie. Den varmer musklerne op, sætter gang i "
            "blodomløbet og hjælper hele kroppen til at slappe af.\n\n"
            "Den er en god første behandling, hvis du ikke har fået massage før, og en god måde "
            "at undgå, at hverdagens spændinger hober sig op. Trykket tilpasses dig.\n\n"
            "En behandling på 30 minutter dækker ryggen; på 60 minutter er der også tid til "
            "nakke, skuldre og ben."
        ),
        "helps_with": (
            "Hverdagens ømhed og spændinger i ryg, nakke og skuldre\n"
            "Stress, der sætter sig i musklerne\n"
            "En første massage eller fast vedligeholdelse mellem andre behandlinger"
        ),
        "not_suitable_for": (
            "Feber, en akut infektion eller en smitsom hudsygdom\n"
            "En blodprop eller en forstyrrelse i blodets størkning, uden en lægeerklæring\n"
            "Kræftbehandling nu eller inden for de seneste fem år, uden en lægeerklæring"
        ),
    },
}

MON_FRI = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class DemoTherapist:
    first_name: str
    full_name: str
    bio: str
    certified: tuple[str, ...]
    # (weekdays, "HH:MM", "HH:MM") on the clinic's wall clock
    hours: tuple[tuple[tuple[int, ...], str, str], ...]
    expired: tuple[str, ...] = ()


THERAPISTS = [
    DemoTherapist(
        "anna",
        "Anna Holm",
        "Anna trained as a sports massage therapist after ten years of competitive rowing. She "
        "works mostly with runners, rowers and people with physical jobs.",
        ("sports-massage", "trigger-point-therapy"),
        hours=((MON_FRI, "09:00", "12:00"), (MON_FRI, "12:30", "17:00")),
    ),
    DemoTherapist(
        "bo",
        "Bo Lindqvist",
        "Bo prefers slow, careful work and sees many clients with long-standing back pain who "
        "find firm pressure too much.",
        ("myofascial-release", "deep-tissue-massage", "classic-massage"),
        hours=((MON_FRI, "09:00", "17:00"),),
    ),
    DemoTherapist(
        "clara",
        "Clara Nørgaard",
        "Clara has treated back pain for fifteen years and is certified in all five of our "
        "techniques. She also teaches the home stretches our clients take away.",
        (
            "sports-massage",
            "trigger-point-therapy",
            "myofascial-release",
            "deep-tissue-massage",
            "classic-massage",
        ),
        hours=(((1, 2, 3, 4, 5), "10:00", "18:00"),),
    ),
    DemoTherapist(
        "david",
        "David Skov",
        "David combines sports massage with myofascial work and likes to explain what he "
        "finds, so clients know what to do between sessions.",
        ("sports-massage", "myofascial-release"),
        hours=((MON_FRI, "09:00", "17:00"),),
        expired=("trigger-point-therapy",),
    ),
]

ROOMS = ("Room 1", "Room 2", "Room 3")


def _ensure_user(email: str, name: str, role: Role) -> User:
    return User.by_email(email) or create_user(
        email=email, name=name, password=DEMO_PASSWORD, role=role, phone="+45 70 20 30 40"
    )


def seed_demo(today: date, now: datetime) -> list[str]:
    """Create whatever part of the demo clinic is missing; return what was created."""
    created: list[str] = []
    if db.session.get(ClinicPolicy, 1) is None:
        db.session.add(ClinicPolicy.current())
        created.append("clinic policy")

    for name in ROOMS:
        if db.session.scalar(select(Room).where(Room.name == name)) is None:
            db.session.add(Room(name=name))
            created.append(name)

    techniques: dict[str, Technique] = {}
    for position, data in enumerate(TECHNIQUES):
        technique = db.session.scalar(select(Technique).where(Technique.slug == data["slug"]))
        if technique is None:
            fields = {k: v for k, v in data.items() if k != "options"}
            danish = {"da": dict(TECHNIQUES_DA[data["slug"]])}
            technique = Technique(position=position, translations=danish, **fields)
            technique.options = [
                TechniqueOption(duration_minutes=d, price_minor=p) for d, p in data["options"]
            ]
            db.session.add(technique)
            created.append(data["name"])
        elif "da" not in (technique.translations or {}):  # seeded before the Danish texts
            for field, text in TECHNIQUES_DA[data["slug"]].items():
                technique.set_text(field, "da", text)
            created.append(f"{data['name']} in Danish")
        techniques[data["slug"]] = technique
    db.session.flush()

    for demo in THERAPISTS:
        email = f"{demo.first_name}@{DEMO_DOMAIN}"
        user = _ensure_user(email, demo.full_name, Role.THERAPIST)
        therapist = db.session.scalar(select(Therapist).where(Therapist.user_id == user.id))
        if therapist is None:
            therapist = Therapist(user=user, bio=demo.bio)
            periods = [(slug, 400, 700) for slug in demo.certified]
            periods += [(slug, 1100, -30) for slug in demo.expired]  # ran out a month ago
            for slug, days_before, days_after in periods:
                therapist.certifications.append(
                    Certification(
                        technique=techniques[slug],
                        body="Danish Massage Therapists' Association",
                        number=f"DMT-{user.id:03d}-{techniques[slug].id:02d}",
                        valid_from=today - timedelta(days=days_before),
                        valid_until=today + timedelta(days=days_after),
                    )
                )
            for weekdays, start, end in demo.hours:
                therapist.working_hours.extend(
                    WorkingHours(
                        weekday=day,
                        start_time=time.fromisoformat(start),
                        end_time=time.fromisoformat(end),
                    )
                    for day in weekdays
                )
            db.session.add(therapist)
            created.append(f"therapist {email}")

    if User.by_email(f"admin@{DEMO_DOMAIN}") is None:
        _ensure_user(f"admin@{DEMO_DOMAIN}", "Clinic Admin", Role.ADMIN)
        created.append(f"admin@{DEMO_DOMAIN}")
    client = User.by_email(f"client@{DEMO_DOMAIN}")
    if client is None:
        client = _ensure_user(f"client@{DEMO_DOMAIN}", "Demo Client", Role.CLIENT)
        created.append(f"client@{DEMO_DOMAIN}")
    if current_screening(client.id) is None:
        all_no = {q.id: (False if q.kind == "yes_no" else "") for q in questions()}
        submit_screening(client, all_no, consent=True, now=now)
        created.append("the demo client's cleared screening")
    db.session.flush()
    return created


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))
