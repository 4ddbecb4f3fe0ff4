"""A realistic IMSJ year as the three import files: members, program and attendance.

Deterministic (seeded), so running the demo twice produces the same files and the importers find nothing new.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from cme_tracker.attendance.importer import LAYOUT as ATTENDANCE_LAYOUT
from cme_tracker.members.importer import LAYOUT as MEMBERS_LAYOUT
from cme_tracker.members.registry import efn_check_digit
from cme_tracker.program.importer import LAYOUT as PROGRAM_LAYOUT
from cme_tracker.vocabulary import CmeField

YEAR = 2026

FAMILY_NAMES = [
    ("佐藤", "サトウ", "Sato"),
    ("鈴木", "スズキ", "Suzuki"),
    ("髙橋", "タカハシ", "Takahashi"),
    ("田中", "タナカ", "Tanaka"),
    ("伊藤", "イトウ", "Ito"),
    ("渡邊", "ワタナベ", "Watanabe"),
    ("山本", "ヤマモト", "Yamamoto"),
    ("中村", "ナカムラ", "Nakamura"),
    ("小林", "コバヤシ", "Kobayashi"),
    ("加藤", "カトウ", "Kato"),
    ("𠮷田", "ヨシダ", "Yoshida"),
    ("山田", "ヤマダ", "Yamada"),
    ("佐々木", "ササキ", "Sasaki"),
    ("山口", "ヤマグチ", "Yamaguchi"),
    ("松本", "マツモト", "Matsumoto"),
    ("井上", "イノウエ", "Inoue"),
    ("木村", "キムラ", "Kimura"),
    ("林", "ハヤシ", "Hayashi"),
    ("齋藤", "サイトウ", "Saito"),
    ("清水", "シミズ", "Shimizu"),
    ("山﨑", "ヤマサキ", "Yamasaki"),
    ("森", "モリ", "Mori"),
    ("池田", "イケダ", "Ikeda"),
    ("橋本", "ハシモト", "Hashimoto"),
    ("阿部", "アベ", "Abe"),
    ("石川", "イシカワ", "Ishikawa"),
    ("前田", "マエダ", "Maeda"),
    ("藤田", "フジタ", "Fujita"),
    ("長谷川", "ハセガワ", "Hasegawa"),
    ("村上", "ムラカミ", "Murakami"),
    ("近藤", "コンドウ", "Kondo"),
    ("坂本", "サカモト", "Sakamoto"),
    ("遠藤", "エンドウ", "Endo"),
    ("青木", "アオキ", "Aoki"),
    ("西村", "ニシムラ", "Nishimura"),
    ("福田", "フクダ", "Fukuda"),
    ("太田", "オオタ", "Ota"),
    ("三浦", "ミウラ", "Miura"),
    ("藤原", "フジワラ", "Fujiwara"),
    ("岡田", "オカダ", "Okada"),
    ("柳田", "ヤナギダ", "Yanagida"),
    ("髙木", "タカギ", "Takagi"),
]
GIVEN_NAMES = [
    ("太郎", "タロウ", "Taro"),
    ("健一", "ケンイチ", "Kenichi"),
    ("誠", "マコト", "Makoto"),
    ("大輔", "ダイスケ", "Daisuke"),
    ("翔太", "ショウタ", "Shota"),
    ("浩二", "コウジ", "Koji"),
    ("拓也", "タクヤ", "Takuya"),
    ("直樹", "ナオキ", "Naoki"),
    ("修", "オサム", "Osamu"),
    ("隆", "タカシ", "Takashi"),
    ("剛", "ツヨシ", "Tsuyoshi"),
    ("聡", "サトシ", "Satoshi"),
    ("亮介", "リョウスケ", "Ryosuke"),
    ("雄一郎", "ユウイチロウ", "Yuichiro"),
    ("彰", "アキラ", "Akira"),
    ("花子", "ハナコ", "Hanako"),
    ("美咲", "ミサキ", "Misaki"),
    ("陽子", "ヨウコ", "Yoko"),
    ("由美", "ユミ", "Yumi"),
    ("恵", "メグミ", "Megumi"),
    ("直子", "ナオコ", "Naoko"),
    ("真由美", "マユミ", "Mayumi"),
    ("さくら", "サクラ", "Sakura"),
    ("彩", "アヤ", "Aya"),
    ("智子", "トモコ", "Tomoko"),
    ("舞", "マイ", "Mai"),
    ("優子", "ユウコ", "Yuko"),
    ("千尋", "チヒロ", "Chihiro"),
    ("香織", "カオリ", "Kaori"),
    ("理恵", "リエ", "Rie"),
]
GERMAN_NAMES = [
    ("Müller", "Anna"),
    ("Schmidt", "Lukas"),
    ("Schneider", "Sophie"),
    ("Fischer", "Jonas"),
    ("Weber", "Katharina"),
    ("Becker", "Felix"),
    ("Hoffmann", "Julia"),
    ("Schäfer", "Maximilian"),
]

TOPICS: dict[CmeField, list[tuple[str, str]]] = {
    CmeField.CLINICAL: [
        ("心不全治療の最前線", "Advances in the treatment of heart failure"),
        ("高齢者の多剤併用と減薬", "Polypharmacy and deprescribing in older patients"),
        ("早期胃癌の内視鏡治療", "Endoscopic treatment of early gastric cancer"),
        ("敗血症診療の実際", "Sepsis care in practice"),
        ("認知症の早期診断と支援", "Early diagnosis and support in dementia"),
        ("糖尿病性腎臓病の管理", "Managing diabetic kidney disease"),
        ("小児喘息の長期管理", "Long-term management of childhood asthma"),
        ("脳卒中急性期のチーム医療", "Team care in acute stroke"),
    ],
    CmeField.BASIC_MEDICINE: [
        ("免疫チェックポイントの分子機構", "Molecular mechanisms of immune checkpoints"),
        ("腸内細菌叢と代謝", "The gut microbiome and metabolism"),
        ("iPS細胞研究の現在", "Induced pluripotent stem cell research today"),
        ("エピゲノムと老化", "The epigenome and ageing"),
        ("睡眠の神経科学", "The neuroscience of sleep"),
    ],
    CmeField.PHARMACEUTICALS: [
        ("抗菌薬の適正使用", "Antimicrobial stewardship"),
        ("直接経口抗凝固薬の使い分け", "Choosing among direct oral anticoagulants"),
        ("バイオシミラーの現状と課題", "Biosimilars: state and challenges"),
        ("薬物相互作用の実際", "Drug interactions in everyday practice"),
    ],
    CmeField.DENTISTRY: [
        ("歯周病と全身疾患", "Periodontal disease and systemic health"),
        ("インプラント周囲炎の管理", "Managing peri-implantitis"),
        ("口腔機能低下症への対応", "Oral hypofunction in older adults"),
        ("周術期の口腔管理", "Perioperative oral care"),
    ],
    CmeField.DISCOURSE: [
        ("江戸の医学と蘭学", "Edo medicine and Dutch learning"),
        ("俳句にみる病と老い", "Illness and ageing in haiku"),
        ("森鷗外と脚気論争", "Mori Ōgai and the beriberi controversy"),
        ("能楽の身体論", "The body in Noh theatre"),
        ("建築と癒やしの空間", "Architecture and healing spaces"),
        ("医の倫理と法の歴史", "A history of medical ethics and law"),
    ],
}
SPEAKERS: dict[CmeField, list[tuple[str, str]]] = {
    CmeField.CLINICAL: [
        ("北里 一郎", "東京大学医学部附属病院"),
        ("荻野 吟子", "国立国際医療研究センター"),
        ("鈴木 梅子", "九州大学病院"),
        ("高木 兼寛", "東京慈恵会医科大学"),
    ],
    CmeField.BASIC_MEDICINE: [
        ("野口 花子", "京都大学大学院医学研究科"),
        ("高峰 譲", "東北大学大学院医学系研究科"),
        ("志賀 健", "大阪大学微生物病研究所"),
    ],
    CmeField.PHARMACEUTICALS: [
        ("秦 佐和子", "慶應義塾大学薬学部"),
        ("長井 長義", "東京大学大学院薬学系研究科"),
    ],
    CmeField.DENTISTRY: [
        ("緒方 洪一", "東京科学大学歯学部"),
        ("血脇 守", "東京歯科大学"),
        ("小幡 英子", "大阪大学大学院歯学研究科"),
    ],
    CmeField.DISCOURSE: [
        ("杉田 玄", "国立歴史民俗博物館"),
        ("吉岡 弥生", "早稲田大学文学学術院"),
        ("世阿 元子", "能楽研究所"),
        ("丹下 健", "東京藝術大学建築科"),
    ],
}
# JMA curriculum codes (1–84) by field, and JDA training codes for dental lectures.
JMA_CODES = {
    CmeField.CLINICAL: ["8", "15", "29", "43", "61", "73"],
    CmeField.BASIC_MEDICINE: ["5", "12"],
    CmeField.PHARMACEUTICALS: ["10", "73"],
}
JDA_CODES = ["2401", "2402", "3101", "3303", "4102"]


@dataclass(frozen=True)
class PlannedLecture:
    code: str
    symposium_code: str
    day: date
    starts: time
    ends: time
    field: CmeField


def _symposium_days() -> list[tuple[str, date]]:
    """The third Saturday of January, March, May, July, September and November."""
    days = []
    for month in (1, 3, 5, 7, 9, 11):
        first = date(YEAR, month, 1)
        first_saturday = first + timedelta(days=(5 - first.weekday()) % 7)
        days.append((f"{YEAR}-{month:02d}", first_saturday + timedelta(weeks=2)))
    return days


def _luhn_efn(rng: random.Random) -> str:
    body = "276" + "".join(str(rng.randrange(10)) for _ in range(11))
    return body + efn_check_digit(body)


def write_members(path: Path, rng: random.Random, count: int = 300) -> list[tuple[str, str, bool]]:
    """Writes members.csv; returns (member_no, profession, has_efn) of each member."""
    rows = []
    for index in range(count):
        member_no = f"{1001 + index:06d}"
        german = index >= count - len(GERMAN_NAMES)
        profession = "physician" if german else rng.choices(["physician", "dentist", "other"], [74, 22, 4])[0]
        row = {"member_no": member_no, "profession": profession}
        if german:
            family, given = GERMAN_NAMES[index - (count - len(GERMAN_NAMES))]
            row |= {
                "family_name": family,
                "given_name": given,
                "family_name_romaji": family,
                "given_name_romaji": given,
                "country": "DE",
                "efn": _luhn_efn(rng),
                "email": f"{given.lower()}.{family.lower().replace('ü', 'ue').replace('ä', 'ae')}@example.de",
            }
        else:
            family_kanji, family_kana, family_romaji = rng.choice(FAMILY_NAMES)
            given_kanji, given_kana, given_romaji = rng.choice(GIVEN_NAMES)
            row |= {
                "family_name": family_kanji,
                "given_name": given_kanji,
                "family_name_kana": family_kana,
                "given_name_kana": given_kana,
                "family_name_romaji": family_romaji,
                "given_name_romaji": given_romaji,
                "country": "JP",
                "email": f"{given_romaji.lower()}.{family_romaji.lower()}{index}@example.jp",
            }
            if rng.random() < 0.05:
                row["former_family_name"] = rng.choice(FAMILY_NAMES)[0]
            if profession == "physician":
                row["medical_registry_no"] = str(rng.randrange(300000, 620000))
                if rng.random() < 0.03:
                    row["efn"] = _luhn_efn(rng)
            elif profession == "dentist":
                row["dental_registry_no"] = str(rng.randrange(100000, 190000))
        rows.append(row)
    _write_csv(path, MEMBER_COLUMNS, rows)
    return [(row["member_no"], row["profession"], "efn" in row) for row in rows]


MEMBER_COLUMNS = MEMBERS_LAYOUT.columns
PROGRAM_COLUMNS = PROGRAM_LAYOUT.columns
ATTENDANCE_COLUMNS = ATTENDANCE_LAYOUT.columns


def write_program(path: Path, rng: random.Random) -> list[PlannedLecture]:
    """Writes program.csv: six regular symposia and the Tawara–Aschoff lecture day in Berlin."""
    rows: list[dict[str, str]] = []
    lectures: list[PlannedLecture] = []
    for number, (code, day) in enumerate(_symposium_days(), start=1):
        count = rng.randint(6, 8)
        fields = [
            CmeField.DISCOURSE,
            CmeField.CLINICAL,
            CmeField.BASIC_MEDICINE,
            CmeField.PHARMACEUTICALS,
            CmeField.DENTISTRY,
        ]
        fields += rng.choices([CmeField.CLINICAL, CmeField.DENTISTRY, CmeField.BASIC_MEDICINE], k=count - 5)
        rng.shuffle(fields)
        start = datetime.combine(day, time(9, 30))
        for position, field in enumerate(fields, start=1):
            minutes = rng.choice([30, 45, 60, 60, 90]) if field != CmeField.DISCOURSE else 60
            if start.hour == 12 or (start.hour == 11 and start.minute + minutes > 90):
                start = datetime.combine(day, time(13, 0))
            end = start + timedelta(minutes=minutes)
            title_ja, title_en = rng.choice(TOPICS[field])
            speaker, affiliation = rng.choice(SPEAKERS[field])
            lecture_code = f"{code}-L{position}"
            excluded = ""
            if minutes >= 60 and field == CmeField.PHARMACEUTICALS:
                sponsored = start + timedelta(minutes=minutes - 10)
                excluded = f"{sponsored:%H:%M}-{end:%H:%M}"
            rows.append(
                {
                    "symposium_code": code,
                    "symposium_kind": "regular",
                    "symposium_date": day.isoformat(),
                    "symposium_title_ja": f"第{(YEAR - 1925) * 6 + number}回 国際医学会学術講演会",
                    "symposium_title_en": f"IMSJ CME Symposium, {day:%B %Y}",
                    "venue": "東京国際フォーラム ホールB7",
                    "timezone": "Asia/Tokyo",
                    "lecture_code": lecture_code,
                    "starts_at": f"{start:%H:%M}",
                    "ends_at": f"{end:%H:%M}",
                    "field": field.value,
                    "title_ja": title_ja,
                    "title_en": title_en,
                    "speaker": speaker,
                    "speaker_affiliation": affiliation,
                    "language": "ja",
                    "jma_cc": rng.choice(JMA_CODES[field]) if field in JMA_CODES else "",
                    "jda_code": rng.choice(JDA_CODES) if field == CmeField.DENTISTRY else "",
                    "excluded": excluded,
                }
            )
            lectures.append(PlannedLecture(lecture_code, code, day, start.time(), end.time(), field))
            start = end + timedelta(minutes=rng.choice([10, 15]))
    special_day = date(YEAR, 10, 10)
    for position, (starts, ends, field, title_en, speaker) in enumerate(
        [
            (
                "10:00",
                "11:30",
                CmeField.CLINICAL,
                "Cardio-oncology: a Japanese and German view",
                "Prof. Dr. Maria Keller",
            ),
            (
                "13:00",
                "14:30",
                CmeField.BASIC_MEDICINE,
                "Aschoff, Tawara and the conduction system",
                "Dr. Kenji Ono",
            ),
            (
                "15:00",
                "16:00",
                CmeField.DISCOURSE,
                "Berlin and Tokyo: medicine in two capitals",
                "Dr. Hanna Vogel",
            ),
        ],
        start=1,
    ):
        code = f"{YEAR}-10-TA"
        rows.append(
            {
                "symposium_code": code,
                "symposium_kind": "special",
                "symposium_date": special_day.isoformat(),
                "symposium_title_ja": "田原・アショフ記念日独シンポジウム",
                "symposium_title_en": "Tawara–Aschoff Symposium",
                "venue": "Charité, Berlin",
                "timezone": "Europe/Berlin",
                "lecture_code": f"{code}-L{position}",
                "starts_at": starts,
                "ends_at": ends,
                "field": field.value,
                "title_ja": title_en,
                "title_en": title_en,
                "speaker": speaker,
                "speaker_affiliation": "Charité – Universitätsmedizin Berlin",
                "language": "en",
                "jma_cc": "43" if field == CmeField.CLINICAL else "",
                "jda_code": "",
                "excluded": "",
            }
        )
        lectures.append(
            PlannedLecture(
                f"{code}-L{position}",
                code,
                special_day,
                time.fromisoformat(starts),
                time.fromisoformat(ends),
                field,
            )
        )
    _write_csv(path, PROGRAM_COLUMNS, rows)
    return lectures


def write_attendance(
    path: Path, rng: random.Random, members: list[tuple[str, str, bool]], lectures: list[PlannedLecture]
) -> None:
    """Writes attendance.csv: some whole-day, most per lecture, with late arrivals, early leavers, forgotten
    check-outs, and a few members scanned both at the entrance and at a lecture door."""
    by_symposium: dict[str, list[PlannedLecture]] = {}
    for lecture in lectures:
        by_symposium.setdefault(lecture.symposium_code, []).append(lecture)
    rows = []
    for member_no, _profession, has_efn in members:
        for code, day_lectures in by_symposium.items():
            special = code.endswith("TA")
            if rng.random() > (0.9 if special and has_efn else 0.08 if special else 0.45):
                continue
            if rng.random() < 0.3:
                first, last = day_lectures[0], day_lectures[-1]
                check_in = _at(first.day, first.starts) + timedelta(minutes=rng.randint(-15, 40))
                roll = rng.random()
                check_out = (
                    None
                    if roll < 0.1
                    else _at(last.day, last.ends) - timedelta(minutes=rng.randint(30, 120))
                    if roll < 0.25
                    else _at(last.day, last.ends) + timedelta(minutes=rng.randint(0, 10))
                )
                rows.append(_attendance_row(member_no, "", code, check_in, check_out, "qr"))
                if rng.random() < 0.1:
                    rows.append(
                        _attendance_row(
                            member_no,
                            first.code,
                            "",
                            _at(first.day, first.starts),
                            _at(first.day, first.ends),
                            "qr",
                        )
                    )
                continue
            for lecture in day_lectures:
                if rng.random() > 0.7:
                    continue
                start, end = _at(lecture.day, lecture.starts), _at(lecture.day, lecture.ends)
                roll = rng.random()
                lateness = rng.randint(-8, 2) if roll < 0.7 else rng.randint(5, 25)
                leave = rng.random()
                check_out = (
                    None
                    if leave < 0.1
                    else end - timedelta(minutes=rng.randint(10, 25))
                    if leave < 0.25
                    else end + timedelta(minutes=rng.randint(0, 5))
                )
                check_in = start + timedelta(minutes=lateness)
                if check_out is not None:
                    check_out = max(check_out, check_in + timedelta(minutes=5))
                rows.append(
                    _attendance_row(
                        member_no,
                        lecture.code,
                        "",
                        check_in,
                        check_out,
                        rng.choice(["qr", "qr", "qr", "search"]),
                    )
                )
    _write_csv(path, ATTENDANCE_COLUMNS, rows)


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment)


def _attendance_row(
    member_no: str,
    lecture_code: str,
    symposium_code: str,
    check_in: datetime,
    check_out: datetime | None,
    method: str,
) -> dict[str, str]:
    return {
        "member_no": member_no,
        "lecture_code": lecture_code,
        "symposium_code": symposium_code,
        "check_in_at": f"{check_in:%Y-%m-%dT%H:%M}",
        "check_out_at": f"{check_out:%Y-%m-%dT%H:%M}" if check_out else "",
        "method": method,
    }


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, str]]) -> None:
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    temporary.replace(path)


@dataclass(frozen=True)
class DemoFiles:
    members: Path
    program: Path
    attendance: Path
    member_numbers: frozenset[str]


def write_year(folder: Path) -> DemoFiles:
    """The three import files of the demo year in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(YEAR)  # noqa: S311 - made-up demo data, reproducible on purpose
    members_csv, program_csv, attendance_csv = (
        folder / "members.csv",
        folder / "program.csv",
        folder / "attendance.csv",
    )
    members = write_members(members_csv, rng)
    write_attendance(attendance_csv, rng, members, write_program(program_csv, rng))
    numbers = frozenset(member_no for member_no, _, _ in members)
    return DemoFiles(members_csv, program_csv, attendance_csv, numbers)
