"""Parsing of Whatsminer v2 replies: firmware defects, shapes, units, error mapping."""

from __future__ import annotations

import contextlib
from datetime import date
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.miner_hub.protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    MinerHubError,
    ParseError,
    RateLimited,
    UnsupportedCommand,
    WriteApiDisabled,
)
from custom_components.miner_hub.protocol.models import MinerError
from custom_components.miner_hub.protocol.whatsminer.v2 import parse
from tests.strategies import records

# Manual 2.0.4 §3.1 summary (cgminer family, MH/s).
SUMMARY_204 = {
    "STATUS": [{"STATUS": "S", "Msg": "Summary"}],
    "SUMMARY": [
        {
            "Elapsed": 2648,
            "MHS av": 84983730.62,
            "MHS 5s": 102423869.64,
            "MHS 1m": 86361423.06,
            "MHS 5m": 84941366.02,
            "MHS 15m": 84969424.09,
            "HS RT": 84941366.02,
            "Accepted": 804,
            "Rejected": 0,
            "Temperature": 80.00,
            "freq_avg": 646,
            "Fan Speed In": 4530,
            "Fan Speed Out": 4530,
            "Power": 3593,
            "Power Rate": 42.31,
            "Pool Rejected%": 0.0,
            "Pool Stale%": 0.0,
            "Uptime": 20507,
            "Hash Stable": True,
            "Target Freq": 574,
            "Target MHS": 76157172,
            "Env Temp": 32.00,
            "Power Mode": "Normal",
            "Factory GHS": 84773,
            "Power Limit": 3600,
            "Chip Temp Min": 75.17,
            "Chip Temp Max": 101.25,
            "Chip Temp Avg": 89.60,
            "Btminer Fast Boot": "disable",
        }
    ],
}


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def summary_of(record: dict[str, Any]) -> Any:
    return parse.readings_from({"summary": {"SUMMARY": [record]}}).summary


class TestDecode:
    def test_trailing_nul_and_newline(self) -> None:
        assert parse.decode(b'{"a":1}\x00') == {"a": 1}
        assert parse.decode(b'{"a":1}\n\x00\n') == {"a": 1}

    def test_trailing_comma_before_brace(self) -> None:
        assert parse.decode(b'{"a":{"b":1,},"c":[1,2,]}') == {
            "a": {"b": 1},
            "c": [1, 2],
        }

    def test_raw_newline_inside_string(self) -> None:
        reply = parse.decode(b'{"Chip Data":"K88Z347-2039\nBINV01-195001D"}')
        assert reply["Chip Data"] == "K88Z347-2039\nBINV01-195001D"

    def test_missing_comma_before_temp0(self) -> None:
        reply = parse.decode(b'{"Msg":{"fan_speed":"6976""temp0":"33.5"}}')
        assert reply["Msg"] == {"fan_speed": "6976", "temp0": "33.5"}

    def test_bracket_error_map_of_api_204(self) -> None:
        text = (
            b'{"STATUS":"S","When":1642392343,"Code":131,'
            b'"Msg":{"error_code":["329":"2022-01-17 11:28:11","110":"2022-01-18 01:00:00"]},'
            b'"Description":""}'
        )
        message = parse.decode(text)["Msg"]
        assert parse.error_codes_from(message) == (
            MinerError(329, "2022-01-17 11:28:11"),
            MinerError(110, "2022-01-18 01:00:00"),
        )

    def test_btminer_down_text_is_a_connection_failure(self) -> None:
        with pytest.raises(ConnectionFailed, match="btminer is not running"):
            parse.decode(b"Socket connect failed: Connection refused\n")

    @pytest.mark.parametrize(
        ("payload", "message"),
        [
            (b"", "empty reply"),
            (b"\x00\n", "empty reply"),
            (b'{"STATUS":"S","Msg":{"a":', "invalid JSON"),
            (b"\xff\xfe garbage", "invalid JSON"),
            (b"[1,2]", "not a JSON object"),
            (b"[" * 100_000, "invalid JSON"),
        ],
    )
    def test_unreadable_replies_are_parse_errors(
        self, payload: bytes, message: str
    ) -> None:
        with pytest.raises(ParseError, match=message):
            parse.decode(payload)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_only_raise_parse_errors(payload: bytes) -> None:
    """Whatever the miner sends, decode returns an object or raises ParseError."""
    try:
        reply = parse.decode(payload)
    except ParseError:
        return
    except ConnectionFailed:
        assert payload.lstrip(b"\x00 \t\r\n").startswith(b"Socket connect failed")
        return
    assert isinstance(reply, dict)


RECORDS = records(
    [
        "MHS av", "HS RT", "Factory GHS", "HS Factory", "Power", "Power Rate",
        "Elapsed", "Error Code Count", "Error Code 0", "Slot", "Status", "Enabled",
        "iin", "vin", "temp0", "vender", "api_ver", "fw_ver", "error_code",
        "reason", "time", "salt", "newsalt", "complete", "btmineroff", "mineroff",
        "power_limit_set", "SUMMARY", "POOLS", "DEVS", "DEVDETAILS", "Msg", "STATUS",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(RECORDS, st.sampled_from(sorted(parse.CGMINER_READS)))
def test_arbitrary_json_only_raises_protocol_errors(
    reply: dict[str, Any], command: str
) -> None:
    """Every builder copes with any JSON: a model or a MinerHubError."""
    builders = [
        lambda: parse.readings_from({command: reply}),
        lambda: parse.status_from(reply),
        lambda: parse.version_from(reply).firmware_date,
        lambda: parse.power_supply_from(reply),
        lambda: parse.network_info_from(reply),
        lambda: parse.error_codes_from(reply),
        lambda: parse.token_challenge_from(reply),
        lambda: parse.pre_power_on_from(reply.get("Msg")),
        lambda: parse.raise_for_status(reply, command, encrypted=True),
        lambda: parse.split_joined(reply, [command]),
    ]
    for build in builders:
        with contextlib.suppress(MinerHubError):
            build()


class TestSummary:
    def test_classic_summary_converts_mhs_to_ths(self) -> None:
        summary = parse.readings_from({"summary": SUMMARY_204}).summary
        assert summary is not None
        assert summary.hashrate_ths == pytest.approx(84.98373062)
        assert summary.hashrate_5s_ths == pytest.approx(102.42386964)
        assert summary.target_hashrate_ths == pytest.approx(76.157172)
        assert summary.factory_hashrate_ths == pytest.approx(84.773)
        assert summary.power_w == 3593
        assert summary.power_rate_j_per_th == pytest.approx(42.31)
        assert summary.power_limit_w == 3600
        assert summary.power_mode == "Normal"
        assert summary.chip_temp_max_c == pytest.approx(101.25)
        assert summary.fan_speed_in_rpm == 4530
        assert summary.hash_stable is True
        assert summary.fast_boot is False
        assert summary.uptime_s == 20507
        assert summary.mac is None
        assert summary.errors == ()

    def test_v2_compat_summary_in_msg_envelope_in_ths(self) -> None:
        reply = {
            "STATUS": "S",
            "When": 1,
            "Code": 131,
            "Msg": {
                "MHS av": 172.4,
                "HS RT": 171.9,
                "Factory GHS": 176000,
                "Power": 3400,
            },
        }
        summary = parse.readings_from({"summary": reply}).summary
        assert summary is not None
        assert summary.hashrate_ths == pytest.approx(172.4)
        assert summary.hashrate_realtime_ths == pytest.approx(171.9)

    def test_v2_compat_summary_in_msg_envelope_in_mhs(self) -> None:
        reply = {"STATUS": "S", "Code": 131, "Msg": {"MHS av": 172_400_000.0}}
        summary = parse.readings_from({"summary": reply}).summary
        assert summary is not None
        assert summary.hashrate_ths == pytest.approx(172.4)

    def test_unit_anchored_on_power_rate_without_factory_rate(self) -> None:
        # 3400 W at 20 J/TH is 170 TH/s: 600 cannot be TH/s, so it is MH/s.
        summary = summary_of({"MHS av": 600.0, "Power": 3400, "Power Rate": 20})
        assert summary.hashrate_ths == pytest.approx(0.0006)
        summary = summary_of({"MHS av": 168.0, "Power": 3400, "Power Rate": 20})
        assert summary.hashrate_ths == pytest.approx(168.0)

    def test_idle_miner_reports_zero(self) -> None:
        summary = summary_of({"MHS av": 0, "HS RT": 0, "Power": 12, "Elapsed": 5})
        assert summary.hashrate_ths == 0
        assert summary.power_w == 12

    def test_older_firmware_lists_errors_in_summary(self) -> None:
        summary = summary_of(
            {"Error Code Count": 2, "Error Code 0": 110, "Error Code 1": "329"}
        )
        assert summary.errors == (MinerError(110), MinerError(329))

    def test_missing_and_malformed_fields_are_none(self) -> None:
        summary = summary_of({"Power": "n/a", "Elapsed": None, "Hash Stable": "maybe"})
        assert summary.power_w is None
        assert summary.elapsed_s is None
        assert summary.hash_stable is None

    def test_empty_summary_list_is_a_parse_error(self) -> None:
        with pytest.raises(ParseError, match="empty SUMMARY"):
            parse.readings_from({"summary": {"SUMMARY": []}})

    def test_missing_data_list_is_a_parse_error(self) -> None:
        with pytest.raises(ParseError, match="no POOLS list"):
            parse.readings_from({"pools": {"STATUS": [{"STATUS": "S"}]}})


class TestHashboardsAndPools:
    def test_edevs_of_manual_204(self) -> None:
        reply = {
            "STATUS": [{"STATUS": "S", "Msg": "3 ASC(s)"}],
            "DEVS": [
                {
                    "ASC": 0, "Slot": 0, "Enabled": "Y", "Status": "Alive",
                    "Temperature": 80.0, "Chip Frequency": 587,
                    "MHS av": 10342284.80, "HS RT": 10351110.56, "HS Factory": 28836,
                    "Accepted": 18, "Rejected": 0, "Upfreq Complete": 0,
                    "Effective Chips": 156, "PCB SN": "HEM1EP9C400929K60003",
                    "Chip Data": "K88Z347-2039\nBINV01-195001D",
                    "Chip Temp Min": 80.56, "Chip Temp Max": 97.0, "Chip Temp Avg": 89.89,
                }
            ],
        }  # fmt: skip
        (board,) = parse.readings_from({"edevs": reply}).hashboards or ()
        assert board.slot == 0
        assert board.enabled is True
        assert board.hashrate_ths == pytest.approx(10.3422848)
        assert board.factory_hashrate_ths == pytest.approx(28.836)
        assert board.upfreq_complete is False
        assert board.pcb_serial == "HEM1EP9C400929K60003"

    def test_v2_compat_boards_in_ths(self) -> None:
        reply = {"DEVS": [{"Slot": 1, "MHS av": 57.3, "Factory GHS": 58000}]}
        (board,) = parse.readings_from({"devs": reply}).hashboards or ()
        assert board.hashrate_ths == pytest.approx(57.3)

    def test_pools(self) -> None:
        reply = {
            "STATUS": [{"STATUS": "S", "Msg": "1 Pool(s)"}],
            "POOLS": [
                {
                    "POOL": 1, "URL": "stratum+tcp://btc.ss.poolin.com:443",
                    "Status": "Alive", "Priority": 0, "Accepted": 7, "Rejected": 1,
                    "Stale": 0, "User": "microbtinitial", "Stratum Active": True,
                    "Stratum Difficulty": 65536.0, "Last Share Time": 1643183296,
                }
            ],
        }  # fmt: skip
        (pool,) = parse.readings_from({"pools": reply}).pools or ()
        assert pool.url == "stratum+tcp://btc.ss.poolin.com:443"
        assert pool.user == "microbtinitial"
        assert pool.stratum_active is True
        assert (pool.accepted, pool.rejected) == (7, 1)

    def test_devdetails(self) -> None:
        reply = {
            "STATUS": [{"STATUS": "S", "Code": 69, "Msg": "Device Details"}],
            "DEVDETAILS": [{"DEVDETAILS": 0, "Name": "SM", "Driver": "bitmicro", "Model": "M30S+VE40"}],
        }  # fmt: skip
        (details,) = parse.readings_from({"devdetails": reply}).device_details or ()
        assert details.model == "M30S+VE40"

    def test_split_joined_reply(self) -> None:
        joined = {"summary": [SUMMARY_204], "pools": [{"POOLS": []}], "id": 1}
        parts = parse.split_joined(joined, ["summary", "pools"])
        assert parts["summary"] is SUMMARY_204
        with pytest.raises(ParseError, match="lacks edevs"):
            parse.split_joined(joined, ["edevs"])


class TestFlatReplies:
    @pytest.mark.parametrize(
        "reply",
        [
            {"btmineroff": "false", "Firmware Version": "'20220919.15.REL'"},
            {
                "STATUS": "S",
                "Code": 131,
                "Msg": {
                    "mineroff": "false",
                    "mineroff_reason": "",
                    "FirmwareVersion": "20220919.15.REL",
                    "power_mode": "low",
                    "power_limit_set": "3600",
                    "hash_percent": "0",
                },
            },
        ],
        ids=["old-bare", "new-flat"],
    )
    def test_status_shapes(self, reply: dict[str, Any]) -> None:
        status = parse.status_from(reply)
        assert status.mining_off is False
        assert status.firmware_version == "20220919.15.REL"

    def test_status_default_power_limit_is_none(self) -> None:
        status = parse.status_from(
            {"Msg": {"btmineroff": "true", "power_limit_set": ""}}
        )
        assert status.mining_off is True
        assert status.power_limit_w is None
        assert status.mining_off_reason is None

    @pytest.mark.parametrize("vendor_key", ["vender", "vendor"])
    def test_power_supply_units_and_vendor_spelling(self, vendor_key: str) -> None:
        psu = parse.power_supply_from(
            {"iin": "8718", "vin": "22400", "pin": "3000", "fan_speed": "6976",
             "temp0": "33.5", vendor_key: "7", "serial_no": "A1232B0120100049"}
        )  # fmt: skip
        assert psu.input_current_a == pytest.approx(8.718)
        assert psu.input_voltage_v == pytest.approx(224.0)
        assert psu.input_power_w == 3000
        assert psu.fan_speed_rpm == 6976
        assert psu.temperature_c == pytest.approx(33.5)
        assert psu.vendor == "7"

    def test_version_strips_old_prefix_and_reads_date(self) -> None:
        version = parse.version_from(
            {
                "api_ver": "whatsminer v1.4.0",
                "fw_ver": "20220125.13.Rel",
                "platform": "H6OS",
            }
        )
        assert version.api_version == "1.4.0"
        assert version.firmware_date == date(2022, 1, 25)

    @pytest.mark.parametrize("firmware", [None, "", "Rel.1", "20221399.1"])
    def test_version_without_a_valid_date(self, firmware: str | None) -> None:
        assert parse.version_from({"fw_ver": firmware}).firmware_date is None

    def test_error_code_formats(self) -> None:
        newer = {"error_code": [{"218": "2024-06-15 10:30:00"}, {"110": "x"}]}
        assert parse.error_codes_from(newer) == (
            MinerError(218, "2024-06-15 10:30:00"),
            MinerError(110, "x"),
        )
        with_reason = {"error_code": [{"264": "2026-05-23 09:19:10", "reason": "PSU"}]}
        assert parse.error_codes_from(with_reason) == (
            MinerError(264, "2026-05-23 09:19:10", "PSU"),
        )
        assert parse.error_codes_from({"error_code": []}) == ()
        assert parse.error_codes_from({"error_code": ["5", "x"]}) == (MinerError(5),)
        with pytest.raises(ParseError):
            parse.error_codes_from({})

    def test_token_challenge(self) -> None:
        message = {"time": "5039", "salt": "BQ5hoXV9", "newsalt": "P5NTAcEp"}
        challenge = parse.token_challenge_from(message)
        assert (challenge.time, challenge.timeout_s) == ("5039", None)
        challenge = parse.token_challenge_from({**message, "timeout": "600"})
        assert challenge.timeout_s == 600
        with pytest.raises(ParseError, match="lacks"):
            parse.token_challenge_from({"time": "5039", "salt": "BQ5hoXV9"})

    def test_pre_power_on(self) -> None:
        status = parse.pre_power_on_from({"complete": "true", "msg": "adjust complete"})
        assert (status.complete, status.message) == (True, "adjust complete")
        assert parse.pre_power_on_from("wait").complete is False

    def test_message_object_required(self) -> None:
        with pytest.raises(ParseError, match="no Msg object"):
            parse.message_object({"Msg": "API command OK"}, "get_psu")


class TestErrorMapping:
    @pytest.mark.parametrize(
        ("reply", "encrypted", "error"),
        [
            ({"STATUS": "E", "Code": 23, "Msg": "enc json load err"}, True, AuthFailed),
            ({"STATUS": "E", "Code": 23, "Msg": "json cmd err"}, False, CommandRejected),
            ({"STATUS": "E", "Code": 45, "Msg": "can't access write cmd"}, True, WriteApiDisabled),
            ({"STATUS": "E", "Code": 99, "Msg": "can't access write cmd"}, True, WriteApiDisabled),
            ({"STATUS": "E", "Code": 45, "Msg": "Permission denied"}, True, WriteApiDisabled),
            ({"STATUS": "E", "Code": 14, "Msg": "invalid cmd"}, False, UnsupportedCommand),
            ({"STATUS": "E", "Code": 132, "Msg": "API command ERROR"}, True, CommandRejected),
            ({"STATUS": "E", "Code": 135, "Msg": "check token err"}, True, parse.StaleToken),
            ({"STATUS": "E", "Code": 136, "Msg": "token over max times"}, False, RateLimited),
            ({"STATUS": "E", "Code": 137, "Msg": "base64 decode err"}, True, CommandRejected),
            ({"STATUS": "S", "Msg": "over max connect"}, False, RateLimited),
            ({"STATUS": [{"STATUS": "E", "Code": 14, "Msg": "invalid cmd"}]}, False, UnsupportedCommand),
            ({"STATUS": [{"STATUS": "F", "Code": 1, "Msg": "fatal"}]}, False, CommandRejected),
        ],
    )  # fmt: skip
    def test_error_replies(
        self, reply: dict[str, Any], encrypted: bool, error: type[Exception]
    ) -> None:
        with pytest.raises(error) as caught:
            parse.raise_for_status(reply, "power_off", encrypted=encrypted)
        assert getattr(caught.value, "command", None) == "power_off"

    @pytest.mark.parametrize(
        "reply",
        [
            {"STATUS": "S", "Code": 131, "Msg": "API command OK"},
            {"STATUS": [{"STATUS": "S", "Code": 11, "Msg": "Summary"}]},
            {"STATUS": [{"STATUS": "I", "Msg": "info"}]},
            {"btmineroff": "false"},
            {"STATUS": []},
        ],
    )
    def test_success_replies(self, reply: dict[str, Any]) -> None:
        parse.raise_for_status(reply, "summary")

    def test_wrong_password_message_names_no_secret(self) -> None:
        with pytest.raises(AuthFailed) as caught:
            parse.raise_for_status(
                {"STATUS": "E", "Code": 23, "Msg": "enc json load err"},
                "power_on",
                encrypted=True,
            )
        assert str(caught.value) == "the miner rejected the password"
        assert caught.value.code == 23
