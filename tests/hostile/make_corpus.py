"""Writes the hostile-inbox corpus (run once; the files and cases.json are kept in git).

Each file is placed, by the suite in tests/test_hardening.py, into a month of its own beside one good claim
line, and run through the whole Dagster job. cases.json says, per file, how many detail records it holds and
how many of them are valid (loaded); everything else must be rejected with an FE-* rule, or the file refused
with the reason given. Counts are by construction here, never read back from the reader under test."""

import json
from pathlib import Path

HERE = Path(__file__).parent
NPI = "1234567893"
LOG_COLS = ["log_id", "provider_id", "staff_id", "recipient_id", "procedure_code", "modifiers", "service_date",
            "start_time", "end_time", "minutes", "delivery_mode", "contact_method", "two_way", "activity",
            "staff_location", "ratio", "tcm_flag", "narrative"]
CLAIM_COLS = ["icn", "line_no", "adjustment_ind", "original_icn", "received_date", "billing_provider_id",
              "recipient_id", "procedure_code", "modifiers", "service_date", "units", "billed_amount",
              "place_of_service", "diagnosis_code"]
HEADER = ",".join(LOG_COLS)
CASES: list[dict] = []


def log(n, narrative="note", **kw):
    f = dict(zip(LOG_COLS, f"L{n:05d},{NPI},S1,12345678,H2014,UC U3,2026-01-05,09:00,10:00,60,in_person,in_person,Y,"
                           "training,home,1:1,,x".split(",")))
    f["narrative"] = narrative
    f.update(kw)
    return ",".join(f.values())


def claim(n, **kw):
    f = dict(zip(CLAIM_COLS, f"2026019{n:08d}|1|0||2026-01-10|{NPI}|12345678|H2014|UC U3|2025-12-10|4|38.00|12|F84.0"
                             .split("|")))
    f.update(kw)
    return "|".join(f.values())


def case(path, data, records, loaded, what, refused=None):
    (HERE / path).parent.mkdir(parents=True, exist_ok=True)
    (HERE / path).write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    CASES.append({"file": path, "records": records, "loaded": loaded, "what": what, "refused": refused})


def claims_file(lines, extra_trl=None):
    from decimal import Decimal, InvalidOperation
    total = Decimal(0)
    for ln in lines:
        try:
            v = ln.split("|")[11]
            total += Decimal(v) if v.isascii() else 0
        except (IndexError, InvalidOperation):
            pass
    return "|".join(CLAIM_COLS) + "\n" + "\n".join(lines) + f"\nTRL|{len(lines)}|{total}\n"


lg = "service_logs/"
case(lg + "cr_only.csv", "\r".join([HEADER, log(1), log(2), log(3)]) + "\r", 3, 3, "CR-only line endings")
case(lg + "crlf_bom.csv", "\ufeff" + "\r\n".join([HEADER, log(11), log(12)]) + "\r\n", 2, 2, "BOM and CRLF")
case(lg + "mixed_endings.csv", HEADER + "\r\n" + log(21) + "\r" + log(22) + "\n" + log(23), 3, 3,
     "CRLF, CR and LF in one file, no final line break")
case(lg + "unterminated_quote.csv", "\n".join([HEADER, log(31), log(32, '"upset, said no'), log(33), log(34)]) + "\n",
     4, 3, "a narrative whose quote never closes")
case(lg + "quote_at_end.csv", "\n".join([HEADER, log(41), log(42), log(43, '"never closed')]) + "\n", 3, 2,
     "an unclosed quote on the last line")
case(lg + "quoted_breaks.csv", "\n".join([HEADER, log(51, '"two\nlines, ""quoted"""'), log(52, '"a\n\nblank line inside"'),
                                          log(53)]) + "\n", 3, 3, "quoted line breaks, a blank line inside quotes, doubled quotes")
case(lg + "two_broken_quotes.csv", "\n".join([HEADER, log(61, '"one'), log(62), log(63, 'two"'), log(64)]) + "\n", 4, 2,
     "two broken quotes that pair up across a good line")
case(lg + "lone_quote.csv", "\n".join([HEADER, log(71), '"', log(72)]) + "\n", 3, 2, "a line that is one quote")
case(lg + "trl_inside.csv", "\n".join([HEADER, log(81, '"quoted\nline break"'), "TRL,2,0", log(82)]) + "\n", 3, 2,
     "a TRL line inside a CSV (quoted-field path)")
case(lg + "trl_at_end.csv", "\n".join([HEADER, log(91), "TRL|1|0"]) + "\n", 2, 1, "a pipe trailer at the end of a CSV")
case(lg + "unicode_digits.csv", "\n".join([HEADER, log(101), log(102, minutes="\u0666\u0660"),
                                           log(103, start_time="\uff19:00"), log(104, service_date="2026-01-\u0660\u0665"),
                                           log(105, recipient_id="1234567\u0668")]) + "\n", 5, 1,
     "Arabic-Indic and full-width digits in minutes, a time, a date and a PMI")
case(lg + "too_wide.csv", "\n".join([HEADER, log(111), log(112, minutes="99999999999"), log(113, minutes="2147483648")]) + "\n",
     3, 1, "minutes wider than INTEGER")
case(lg + "bad_times.csv", "\n".join([HEADER, log(121, start_time="25:61"), log(122, end_time="13:60 PM"), log(123)]) + "\n",
     3, 1, "25:61 and 13:60 PM as times")
case(lg + "invalid_utf8.csv", (HEADER + "\n" + log(131) + "\n").encode() + log(132, "caf\xe9").encode("latin-1") + b"\n"
     + (log(133) + "\n").encode(), 3, 2, "a Latin-1 record in a UTF-8 file")
case(lg + "nul_byte.csv", "\n".join([HEADER, log(141, "a\x00b"), log(142)]) + "\n", 2, 2, "a NUL byte in a narrative")
case(lg + "field_counts.csv", "\n".join([HEADER, log(151), log(152) + ",extra", ",".join(log(153).split(",")[:5])]) + "\n",
     3, 1, "a long and a short record")
case(lg + "formula_sql.csv", "\n".join([HEADER, log(161, "=HYPERLINK(\"http://evil\")"),
                                        log(162, "'); DROP TABLE contacts; --")]) + "\n", 2, 2, "a formula and SQL as text")
case(lg + "control_chars.csv", "\n".join([HEADER, log(171, "\x1b[2J\x1b]0;pwned\x07 \u202eevil")]) + "\n", 1, 1,
     "terminal escapes and a bidi override in a narrative")
case(lg + "huge_quoted.csv", "\n".join([HEADER, log(181, '"' + "x, " * 70000 + '"'), log(182, '"unclosed'), log(183)]) + "\n",
     3, 2, "a 210 KB quoted narrative (beyond the csv module's default field limit) in a file read by it")
case(lg + "dup_header.csv", HEADER + ",log_id\n" + log(191) + ",L9\n", 1, 0, "a header that repeats a column")
case(lg + "header_only.csv", HEADER + "\n", 0, 0, "a header and nothing else")
case(lg + "empty.csv", b"", 0, 0, "an empty file")
case(lg + "random_bytes.csv", bytes((i * 7919 + 13) % 256 for i in range(3000)), None, 0, "random bytes")
case(lg + "reordered_extra.csv", ",".join(reversed(LOG_COLS)) + ",source_system\n"
     + ",".join(reversed(log(201).split(","))) + ",X\n", 1, 1, "columns in another order and an extra column")
case(lg + "UPPER_CASE.CSV", HEADER + "\n" + log(211) + "\n", 1, 1, "an upper-case name")
case(lg + "export.xlsx", b"PK\x03\x04 not read", 0, 0, "a workbook where CSV is expected",
     refused="the name does not match *.csv")

cl = "claims/"
case(cl + "UPPER.TXT", claims_file([claim(1), claim(2)]), 2, 2, "an upper-case claims file name")
case(cl + "cr_only.txt", claims_file([claim(11), claim(12)]).replace("\n", "\r"), 2, 2, "a claims file with CR-only endings")
case(cl + "unicode_amounts.txt", claims_file([claim(21), claim(22, billed_amount="\uff17\uff16.\uff10\uff10"),
                                              claim(23, units="8\u0661"), claim(24, line_no="\u0661")]), 4, 1,
     "full-width and Arabic-Indic digits in amounts, units and line numbers")
case(cl + "wide_amounts.txt", claims_file([claim(31, billed_amount="9999999999.99"), claim(32, billed_amount="99999999999.00"),
                                           claim(33, units="1.005"), claim(34, units="12345678901")]), 4, 1,
     "amounts and units too wide or too precise for DECIMAL(12,2)")
case(cl + "trl_in_middle.txt", "|".join(CLAIM_COLS) + "\n" + claim(41) + "\nTRL|1|38.00\n" + claim(42) + "\nTRL|3|76.00\n",
     3, 2, "a trailer line in the middle of a claims file")
case(cl + "odd_provider_ids.txt", claims_file([claim(51, billing_provider_id="$\\frac$"), claim(52, billing_provider_id="bad'"),
                                               claim(53, billing_provider_id="=2+5"), claim(54)]), 4, 1,
     "TeX, a quote and a formula as billing provider ids")
case(cl + "notes.doc", "x", 0, 0, "a document in the claims folder", refused="the name does not match *.txt")

STAFF = ("staff_id,provider_id,role,hire_date,end_date,background_study_date,high_school_graduate,"
         "qualifying_experience_months,postsecondary_years,supervisor_staff_id,training_hours_12m")
case("reference/staff.csv", "\n".join([STAFF, f"S1,{NPI},direct_support,2021-01-01,,2020-12-15,Y,24,0,,16",
                                        f"S2,{NPI},direct_support,2021-01-01,,2020-12-15,Y,24,12345,,16",
                                        f"S3,{NPI},direct_support,2021-01-01,,2020-12-15,Y,24,0,,1234567",
                                        f"S4,{NPI},direct_support,2021-01-01,,2020-12-15,Y,\uff12\uff14,0,,16"]) + "\n",
     4, 1, "postsecondary_years 12345, training_hours_12m 1234567, full-width months")
REC = "recipient_id,birth_date,waiver_program,span_start,span_end,living_arrangement,sleep_start,sleep_end"
case("reference/recipients.csv", "\n".join([REC, "12345678,1980-05-17,CADI,2024-01-01,2028-12-31,own_home,22:00,06:00",
                                            "12345679,1980-05-17,CADI,2024-01-01,2028-12-31,own_home,25:61,06:00",
                                            "12345670,1980-02-30,CADI,2024-01-01,2028-12-31,own_home,,"]) + "\n",
     3, 1, "sleep_start 25:61 and a birth date of 30 February")
case("reference/facility.csv", "a,b\n1,2\n", 0, 0, "a reference file no kind takes",
     refused="the name does not match")
case("readme.txt", "read me", 0, 0, "a file outside the inbox folders", refused="a file outside the inbox folders")

(HERE / "cases.json").write_text(json.dumps(CASES, indent=1, ensure_ascii=True) + "\n")
print(len(CASES), "cases")
