"""Each FE-* edit fails on a hand-made record and passes on a clean one (the contract itself)."""

import json
import polars as pl
import pytest

from claimrecon.readers import read_delimited
from contracts import front_end as fe

CATALOG = ["H2014|U3 UC", "T1016|UC"]
CLEAN = dict(icn="2026010100001", line_no="1", adjustment_ind="0", original_icn=None, received_date="2026-02-03",
             billing_provider_id="1234567893", recipient_id="12345678", procedure_code="H2014", modifiers="UC U3",
             service_date="2026-01-10", units="4", billed_amount="38.00", place_of_service="12", diagnosis_code="F84.0")


def frame(*rows):
    return pl.DataFrame([dict(CLEAN, **r) for r in rows], schema={c: pl.Utf8 for c in fe.columns("claims")})


@pytest.mark.parametrize("change,rule", [
    ({"service_date": "2026-02-30"}, "FE-PARSE"),
    ({"billed_amount": "12.345"}, "FE-PARSE"),
    ({"recipient_id": None}, "FE-REQUIRED"),
    ({"recipient_id": "1234567"}, "FE-FORMAT"),
    ({"billing_provider_id": "1234567890"}, "FE-FORMAT"),   # bad NPI check digit
    ({"icn": "abc"}, "FE-FORMAT"),
    ({"diagnosis_code": "84.0"}, "FE-FORMAT"),
    ({"modifiers": "UC U3X"}, "FE-FORMAT"),
    ({"procedure_code": "H9999"}, "FE-CODE"),
    ({"modifiers": "UC"}, "FE-CODE"),
    ({"units": "0"}, "FE-VALUE"),
    ({"units": "2.5"}, "FE-VALUE"),
    ({"billed_amount": "-1.00"}, "FE-VALUE"),
    ({"service_date": "2026-03-01"}, "FE-VALUE"),          # after received
    ({"units": "99999999999"}, "FE-VALUE"),                 # does not fit DECIMAL(12,2)
    ({"billed_amount": "12345678901.00"}, "FE-VALUE"),
])
def test_claim_edit_fails_and_clean_passes(change, rule):
    fails = fe.validate("claims", frame({}, change), CATALOG)
    assert fails.select("_idx", "rule_id").rows() == [(1, rule)]


def test_umpi_modifier_order_and_whole_decimal_units_pass():
    assert fe.validate("claims", frame({"billing_provider_id": "A123456789", "modifiers": "U3 UC", "units": "3.0"}),
                       CATALOG).height == 0


def test_the_largest_amount_the_warehouse_holds_passes():
    assert fe.validate("claims", frame({"billed_amount": "9999999999.99"}), CATALOG).height == 0


def test_repeated_key_is_fe_value():
    fails = fe.validate("claims", frame({}, {}), CATALOG)
    assert fails.rows() == [(1, "FE-VALUE", "icn and line_no repeat an earlier record of this load")]


def test_service_log_times_am_pm_overnight_and_minutes():
    rows = [dict(log_id=str(i), provider_id="1234567893", staff_id="S1", recipient_id="12345678", procedure_code="H2014",
                 modifiers="UC U3", service_date="2026-01-10", start_time=s, end_time=e, minutes=m, delivery_mode="in_person",
                 contact_method="in_person", two_way=None, activity="training", staff_location=None, ratio=None,
                 tcm_flag=None, narrative=None) for i, (s, e, m) in enumerate([
                     ("9:00 AM", "11:00 AM", "120"), ("11:00 PM", "1:00 AM", "120"), ("21:30", "22:00", "31"),
                     ("25:61", "10:00", None), ("9:00 AM", "10:00 AM", "75"), ("9:00", "9:00", None),
                     ("9:00", "9:00", "0")])]
    df = pl.DataFrame(rows, schema={c: pl.Utf8 for c in fe.columns("service_logs")})
    fails = fe.validate("service_logs", df, CATALOG)
    # revision 2, Clarification 2: an end equal to the start lasts 0 minutes (loaded, not rejected)
    assert fails.select("_idx", "rule_id").rows() == [(3, "FE-PARSE"), (4, "FE-VALUE")]
    mins = df.select(fe.time_minutes("start_time"), fe.time_minutes("end_time")).rows()
    assert mins[:2] == [(540, 660), (1380, 60)]


def test_reader_bom_crlf_quotes_extra_columns_and_ragged_rows(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b'\xef\xbb\xbfrecipient_id,birth_date,waiver_program,span_start,span_end,living_arrangement,'
                  b'sleep_start,sleep_end,county\r\n'
                  b'12345678,1980-01-01,CADI,2024-01-01,,own_home,,,"Hennepin, MN"\r\n'
                  b'12345679,1980-01-01,CADI\r\n'
                  b'\xff\xfe,1,2,3,4,5,6,7,8\r\n')
    raw = read_delimited(p, fe.columns("recipients"), ",", trailer=False)
    assert raw.rows.height == 1 and raw.rows["_row"].to_list() == [2]
    assert json.loads(raw.rows["_extra"][0]) == {"county": "Hennepin, MN"}
    assert [(r, m.split(":")[0]) for r, m, _ in raw.rejects] == [(3, "wrong field count"), (4, "the record is not valid UTF-8 text")]


def test_npi_check_digit_twin():
    assert fe.npi_check_digit("123456789") == 3
