#include "client/verdict_format.h"

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/terminal_text.h"
#include "common/dates.h"
#include "common/money.h"

namespace tradecheck {
namespace {

// "SEVERITY_WARNING" -> "WARNING".
std::string StripPrefix(const std::string& name, absl::string_view prefix) {
  absl::string_view view(name);
  absl::ConsumePrefix(&view, prefix);
  return std::string(view);
}

std::string SeverityName(v1::Severity severity) {
  return StripPrefix(v1::Severity_Name(severity), "SEVERITY_");
}

std::string StreamName(v1::TrailStream stream) {
  switch (stream) {
    case v1::TRAIL_STREAM_VALIDATE_ONLY:
      return "validate-only";
    case v1::TRAIL_STREAM_BINDING:
    case v1::TRAIL_STREAM_UNSPECIFIED:
    default:
      return "binding";
  }
}

std::string StatusName(v1::InstrumentStatus status) {
  return StripPrefix(v1::InstrumentStatus_Name(status), "INSTRUMENT_STATUS_");
}

std::string MoneyOrDash(const v1::Money& money) {
  if (money.currency_code().empty() && money.minor_units() == 0) return "-";
  return FormatMoney(money);
}

std::string DateOrDash(const v1::Date& date) {
  if (IsUnset(date)) return "-";
  return FormatDate(date);
}

std::string FormatTimestamp(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  const absl::Time time = absl::FromUnixSeconds(timestamp.seconds()) +
                          absl::Nanoseconds(timestamp.nanos());
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

// "Executive Order 14326, §3(a) <https://...>", from whatever is set.
std::string FormatCitation(const v1::Citation& citation) {
  std::string text = citation.instrument_title().empty()
                         ? citation.instrument_id()
                         : citation.instrument_title();
  if (!citation.article().empty()) {
    absl::StrAppend(&text, text.empty() ? "" : ", ", citation.article());
  }
  if (!citation.primary_document().empty()) {
    absl::StrAppend(&text, text.empty() ? "" : " ", "[",
                    citation.primary_document(), "]");
  }
  if (!citation.source_url().empty()) {
    absl::StrAppend(&text, text.empty() ? "" : " ", "<", citation.source_url(),
                    ">");
  }
  if (!citation.no_primary_source_reason().empty()) {
    absl::StrAppend(&text, " (no primary source: ",
                    citation.no_primary_source_reason(), ")");
  }
  if (citation.has_status_confirmed_on()) {
    absl::StrAppend(&text, "; status confirmed ",
                    DateOrDash(citation.status_confirmed_on()));
    if (citation.confirmation_age_days() > 0) {
      absl::StrAppend(&text, " (", citation.confirmation_age_days(),
                      " days before the governing date)");
    }
  }
  return text;
}

std::string FormatRate(int32_t basis_points) {
  return absl::StrFormat("%d.%02d%%", basis_points / 100, basis_points % 100);
}

// "USD 40.01", "0.14 %", "2,500.000 KGM"; "-" when unset.
std::string FormatFigure(const v1::Figure& figure) {
  switch (figure.value_case()) {
    case v1::Figure::kMoney:
      return FormatMoney(figure.money());
    case v1::Figure::kRatioPpm: {
      // Hundredths of a percent, more digits only when the share needs them.
      const int64_t ppm = figure.ratio_ppm();
      if (ppm % 100 == 0) {
        return absl::StrFormat("%d.%02d %%", ppm / 10000, (ppm / 100) % 100);
      }
      return absl::StrFormat("%d.%04d %%", ppm / 10000, ppm % 10000);
    }
    case v1::Figure::kQuantity:
      return absl::StrCat(FormatMilli(figure.quantity().amount_milli()), " ",
                          figure.quantity().unit());
    default:
      return "-";
  }
}

// "CONTROLLED_ORIGIN_CONTENT 0.14 % (threshold 0.10 %): reduce by USD 40.01
// to at most USD 99.99".
std::string FormatMargin(const v1::Margin& margin) {
  std::string text = margin.measured();
  if (margin.has_actual()) {
    absl::StrAppend(&text, " ", FormatFigure(margin.actual()));
  }
  absl::StrAppend(&text, " (threshold ", FormatFigure(margin.threshold()),
                  ")");
  switch (margin.direction()) {
    case v1::MARGIN_DIRECTION_MUST_REDUCE:
      absl::StrAppend(&text, ": reduce by ", FormatFigure(margin.distance()),
                      " to at most ", FormatFigure(margin.passing_value()));
      break;
    case v1::MARGIN_DIRECTION_MUST_INCREASE:
      absl::StrAppend(&text, ": increase by ", FormatFigure(margin.distance()),
                      " to at least ", FormatFigure(margin.passing_value()));
      break;
    case v1::MARGIN_DIRECTION_HEADROOM:
      absl::StrAppend(&text, ": headroom ", FormatFigure(margin.distance()),
                      " (limit ", FormatFigure(margin.passing_value()), ")");
      break;
    default:
      break;
  }
  return text;
}

void AppendFinding(const v1::Finding& finding, absl::string_view indent,
                   std::string* out) {
  absl::StrAppend(
      out, indent,
      absl::StrFormat("%-8s %-8s %s\n", SeverityName(finding.severity()),
                      finding.rule_id(), finding.message()));
  const std::string more = absl::StrCat(indent, "         ");
  if (!finding.remedy().empty()) {
    absl::StrAppend(out, more, "remedy: ", finding.remedy(), "\n");
  }
  if (finding.has_margin()) {
    absl::StrAppend(out, more, "margin: ", FormatMargin(finding.margin()),
                    "\n");
  }
  const std::string citation = FormatCitation(finding.citation());
  if (!citation.empty()) absl::StrAppend(out, more, "source: ", citation, "\n");
  if (!finding.tags().empty()) {
    absl::StrAppend(out, more, "tags:   ", absl::StrJoin(finding.tags(), ", "),
                    "\n");
  }
}

const v1::LineItem* FindLine(const v1::Declaration* declaration,
                             int32_t line_number) {
  if (declaration == nullptr) return nullptr;
  for (const v1::LineItem& line : declaration->lines()) {
    if (line.line_number() == line_number) return &line;
  }
  return nullptr;
}

std::string GoverningBasis(v1::GoverningDateBasis basis) {
  switch (basis) {
    case v1::GOVERNING_DATE_BASIS_ENTRY_DATE:
      return " (entry date)";
    case v1::GOVERNING_DATE_BASIS_EXPORT_DATE:
      return " (export date)";
    default:
      return "";
  }
}

std::string ShortHash(const std::string& hash) {
  return hash.size() > 16 ? absl::StrCat(hash.substr(0, 16), "...") : hash;
}

}  // namespace

std::string OutcomeName(v1::Outcome outcome) {
  return StripPrefix(v1::Outcome_Name(outcome), "OUTCOME_");
}

namespace {

// FormatVerdict on a verdict and declaration already made terminal-safe.
std::string FormatSafeVerdict(const v1::Verdict& verdict,
                              const v1::Declaration* declaration) {
  std::string out;
  absl::StrAppend(&out, "Declaration   ", verdict.declaration_id(),
                  verdict.validate_only() ? "   (dry run: nothing bound)" : "",
                  "\n");
  absl::StrAppend(&out, "Outcome       ", OutcomeName(verdict.outcome()), "\n");
  absl::StrAppend(&out, "Total duty    ", MoneyOrDash(verdict.total_duty()),
                  "\n");
  if (!verdict.total_duty_covers().empty()) {
    absl::StrAppend(&out, "  covers      ", verdict.total_duty_covers(),
                    "\n");
  }
  absl::StrAppend(&out, "Governed by   ", DateOrDash(verdict.governing_date()),
                  GoverningBasis(verdict.governing_date_basis()), "\n");
  absl::StrAppend(&out, "Rule set      ",
                  ShortHash(verdict.rule_set_revision()), "\n");
  if (!verdict.decision_id().empty()) {
    absl::StrAppend(&out, "Decision      ", verdict.decision_id(), "   (",
                    verdict.validate_only() ? "validate-only" : "binding",
                    " trail #", verdict.audit_sequence(), ", recorded ",
                    FormatTimestamp(verdict.recorded_at()), ")\n");
  }

  if (!verdict.lines().empty()) {
    absl::StrAppend(&out, "\n",
                    absl::StrFormat("%-5s %-11s %-13s %-18s %s\n", "LINE",
                                    "HS CODE", "OUTCOME", "DUTY", "HEADINGS"));
    for (const v1::LineVerdict& line : verdict.lines()) {
      const v1::LineItem* item = FindLine(declaration, line.line_number());
      absl::StrAppend(
          &out, absl::StrFormat(
                    "%-5d %-11s %-13s %-18s %s\n", line.line_number(),
                    item != nullptr ? item->hs_code() : "",
                    OutcomeName(line.outcome()), MoneyOrDash(line.total_duty()),
                    line.filing_headings().empty()
                        ? "-"
                        : absl::StrJoin(line.filing_headings(), " ")));
    }
  }

  for (const v1::LineVerdict& line : verdict.lines()) {
    const v1::LineItem* item = FindLine(declaration, line.line_number());
    absl::StrAppend(&out, "\nLine ", line.line_number());
    if (item != nullptr) {
      absl::StrAppend(&out, "  ", item->hs_code());
      if (!item->description().empty()) {
        absl::StrAppend(&out, "  ", item->description());
      }
      absl::StrAppend(&out, "  ", MoneyOrDash(item->customs_value()));
    }
    absl::StrAppend(&out, ": ", OutcomeName(line.outcome()), "\n");
    if (line.duties().empty()) absl::StrAppend(&out, "  Duties: none\n");
    for (const v1::Duty& duty : line.duties()) {
      absl::StrAppend(
          &out, "  Duty     ",
          duty.description().empty() ? duty.measure_id() : duty.description(),
          ": ", FormatRate(duty.rate_basis_points()), " of ",
          MoneyOrDash(duty.base()), " = ", MoneyOrDash(duty.amount()));
      if (!duty.filing_heading().empty()) {
        absl::StrAppend(&out, "  (", duty.filing_heading(), ")");
      }
      absl::StrAppend(&out, "\n");
      const std::string citation = FormatCitation(duty.citation());
      if (!citation.empty()) {
        absl::StrAppend(&out, "           source: ", citation, "\n");
      }
    }
    for (const v1::Finding& finding : line.findings()) {
      AppendFinding(finding, "  ", &out);
    }
  }

  if (!verdict.findings().empty()) {
    absl::StrAppend(&out, "\nDeclaration findings\n");
    for (const v1::Finding& finding : verdict.findings()) {
      AppendFinding(finding, "  ", &out);
    }
  }
  return out;
}

}  // namespace

std::string FormatVerdict(const v1::Verdict& verdict,
                          const v1::Declaration* declaration) {
  if (declaration == nullptr) {
    return FormatSafeVerdict(ForTerminal(verdict), nullptr);
  }
  const v1::Declaration safe = ForTerminal(*declaration);
  return FormatSafeVerdict(ForTerminal(verdict), &safe);
}

std::string FormatCheckResponse(const v1::CheckDeclarationResponse& response,
                                const v1::Declaration* declaration) {
  std::string out = FormatVerdict(response.verdict(), declaration);
  if (response.replayed()) {
    absl::StrAppend(&out,
                    "\nReplayed: this declaration_id was checked before; "
                    "this is the recorded verdict.\n");
  }
  return out;
}

std::string FormatBatchHeader() {
  return absl::StrFormat("%-6s %-28s %-13s %-18s %s\n", "INDEX", "DECLARATION",
                         "OUTCOME", "TOTAL DUTY", "DECISION / ERROR");
}

std::string FormatBatchRow(const v1::CheckResult& result_in) {
  const v1::CheckResult result = ForTerminal(result_in);
  if (result.has_error()) {
    std::string message = result.error().message();
    return absl::StrFormat(
        "%-6d %-28s %-13s %-18s %s\n", result.index(), result.declaration_id(),
        "ERROR", "-",
        absl::StrCat(absl::StatusCodeToString(
                         static_cast<absl::StatusCode>(result.error().code())),
                     ": ", message));
  }
  const v1::Verdict& verdict = result.response().verdict();
  return absl::StrFormat(
      "%-6d %-28s %-13s %-18s %s%s\n", result.index(), result.declaration_id(),
      OutcomeName(verdict.outcome()), MoneyOrDash(verdict.total_duty()),
      verdict.decision_id(), result.response().replayed() ? " (replayed)" : "");
}

std::string FormatDecision(const v1::Decision& decision_in) {
  const v1::Decision decision = ForTerminal(decision_in);
  std::string out;
  absl::StrAppend(&out, "Decision      ", decision.decision_id(), "\n");
  absl::StrAppend(&out, "Trail         ", StreamName(decision.stream()), " #",
                  decision.sequence(), ", recorded ",
                  FormatTimestamp(decision.recorded_at()), "\n");
  if (!decision.caller().empty()) {
    absl::StrAppend(&out, "Caller        ", decision.caller(), "\n");
  }
  absl::StrAppend(&out, "Exporter      ",
                  decision.declaration().exporter_id().empty()
                      ? "-"
                      : decision.declaration().exporter_id(),
                  "   Importer ",
                  decision.declaration().importer_id().empty()
                      ? "-"
                      : decision.declaration().importer_id(),
                  "   Origin ",
                  decision.declaration().origin_country().empty()
                      ? "-"
                      : decision.declaration().origin_country(),
                  "\n");
  absl::StrAppend(&out, "Record hash   ", decision.record_hash(), "\n");
  absl::StrAppend(&out, "Previous hash ", decision.previous_hash(), "\n\n");
  absl::StrAppend(&out,
                  FormatSafeVerdict(decision.verdict(), &decision.declaration()));
  return out;
}

std::string FormatDecisionListHeader() {
  return absl::StrFormat("%-23s %-14s %-18s %-28s %-6s %-13s %s\n",
                         "RECORDED (UTC)", "TRAIL", "DECISION", "DECLARATION",
                         "ORIGIN", "OUTCOME", "TOTAL DUTY");
}

std::string FormatDecisionRow(const v1::Decision& decision_in) {
  const v1::Decision decision = ForTerminal(decision_in);
  return absl::StrFormat(
      "%-23s %-14s %-18s %-28s %-6s %-13s %s\n",
      FormatTimestamp(decision.recorded_at()),
      absl::StrCat(StreamName(decision.stream()), " #", decision.sequence()),
      decision.decision_id(), decision.declaration().declaration_id(),
      decision.declaration().origin_country().empty()
          ? "-"
          : decision.declaration().origin_country(),
      OutcomeName(decision.verdict().outcome()),
      MoneyOrDash(decision.verdict().total_duty()));
}

std::string FormatVerifyTrail(const v1::VerifyTrailResponse& response_in) {
  const v1::VerifyTrailResponse response = ForTerminal(response_in);
  std::string out;
  if (response.ok()) {
    absl::StrAppend(&out, "Trail OK: ", response.records_checked(),
                    " records checked, hash chain intact.\n");
  } else {
    absl::StrAppend(&out, "Trail BROKEN after ", response.records_checked(),
                    " records checked.\n");
    absl::StrAppend(&out, "First bad record  #", response.first_bad_sequence(),
                    " (decision ", response.first_bad_decision_id(), ")\n");
    absl::StrAppend(&out, "Problem           ", response.problem(), "\n");
  }
  if (!response.head_hash().empty()) {
    absl::StrAppend(&out, "Head              #", response.head_sequence(), " ",
                    response.head_hash(), "\n");
    absl::StrAppend(&out,
                    "(Note the head hash: a later verification that reaches "
                    "it proves the trail up to it was not rewritten.)\n");
  }
  return out;
}

std::string FormatReevaluation(const v1::ReevaluateDecisionResponse& response_in) {
  const v1::ReevaluateDecisionResponse response = ForTerminal(response_in);
  std::string out;
  absl::StrAppend(&out, "Decision            ",
                  response.decision().decision_id(), "\n");
  absl::StrAppend(&out, "Original revision   ",
                  ShortHash(response.decision().rule_set_revision()), ": ",
                  OutcomeName(response.original_revision_verdict().outcome()),
                  response.matches_stored()
                      ? " (matches the stored verdict)"
                      : " (DOES NOT MATCH the stored verdict)",
                  "\n");
  absl::StrAppend(
      &out, "Current revision    ", ShortHash(response.current_revision()),
      ": ", OutcomeName(response.current_revision_verdict().outcome()), "\n");
  if (response.changes().empty()) {
    absl::StrAppend(&out, "Changes under the current rules: none\n");
  } else {
    absl::StrAppend(&out, "Changes under the current rules:\n");
    for (const std::string& change : response.changes()) {
      absl::StrAppend(&out, "  ", change, "\n");
    }
  }
  return out;
}

// "2026-10-09 (58 d)" or "2026-10-09 (58 d, review overdue)".
std::string FormatConfirmation(const v1::Instrument& instrument) {
  if (!instrument.has_confirmation()) {
    return instrument.review_overdue() ? "never (review overdue)" : "-";
  }
  return absl::StrCat(DateOrDash(instrument.confirmation().confirmed_on()),
                      " (", instrument.confirmation_age_days(), " d",
                      instrument.review_overdue() ? ", review overdue" : "",
                      ")");
}

std::string FormatInstrumentList(const v1::ListInstrumentsResponse& response_in) {
  const v1::ListInstrumentsResponse response = ForTerminal(response_in);
  std::string out =
      absl::StrFormat("%-28s %-14s %-28s %-16s %s\n", "INSTRUMENT", "STATUS",
                      "CONFIRMED (AGE)", "ISSUER", "TITLE");
  for (const v1::Instrument& instrument : response.instruments()) {
    absl::StrAppend(
        &out, absl::StrFormat("%-28s %-14s %-28s %-16s %s\n",
                              instrument.instrument_id(),
                              StatusName(instrument.status()),
                              FormatConfirmation(instrument),
                              instrument.issuer(), instrument.title()));
  }
  absl::StrAppend(&out, "\n", response.instruments_size(),
                  " instruments; rule set ",
                  ShortHash(response.rule_set_revision()));
  if (response.has_data_current_through()) {
    absl::StrAppend(&out, ", data current through ",
                    DateOrDash(response.data_current_through()));
  }
  if (response.has_new_measures_reviewed_through()) {
    absl::StrAppend(&out, ", sources searched for new measures through ",
                    DateOrDash(response.new_measures_reviewed_through()));
  }
  absl::StrAppend(&out, "\n");
  return out;
}

std::string FormatInstrument(const v1::Instrument& instrument_in) {
  const v1::Instrument instrument = ForTerminal(instrument_in);
  std::string out;
  absl::StrAppend(&out, instrument.instrument_id(), ": ", instrument.title(),
                  "\n");
  absl::StrAppend(&out, "Issuer   ", instrument.issuer(), "\n");
  absl::StrAppend(&out, "Status   ", StatusName(instrument.status()), "\n");
  absl::StrAppend(&out, "Confirmed ", FormatConfirmation(instrument));
  if (instrument.has_confirmation()) {
    const v1::Confirmation& c = instrument.confirmation();
    if (!c.confirmed_by().empty()) absl::StrAppend(&out, " by ", c.confirmed_by());
    if (c.has_review_due()) {
      absl::StrAppend(&out, "; review due ", DateOrDash(c.review_due()));
    }
    if (!c.source_url().empty()) absl::StrAppend(&out, " <", c.source_url(), ">");
  }
  absl::StrAppend(&out, "\n");
  const std::string citation = FormatCitation(instrument.citation());
  if (!citation.empty()) absl::StrAppend(&out, "Source   ", citation, "\n");
  if (!instrument.notes().empty()) {
    absl::StrAppend(&out, "Notes    ", instrument.notes(), "\n");
  }
  if (!instrument.status_history().empty()) {
    absl::StrAppend(&out, "\nStatus history\n");
    for (const v1::StatusPeriod& period : instrument.status_history()) {
      absl::StrAppend(
          &out,
          absl::StrFormat("  %-10s to %-10s %-14s %s%s\n",
                          DateOrDash(period.from()), DateOrDash(period.until()),
                          StatusName(period.status()), period.note(),
                          period.unconfirmed() ? " (unconfirmed)" : ""));
    }
  }
  if (!instrument.measures().empty()) {
    absl::StrAppend(&out, "\nMeasures\n");
    for (const v1::MeasureSummary& measure : instrument.measures()) {
      absl::StrAppend(&out, "  ", measure.measure_id(), "  [", measure.kind(),
                      "]  ", measure.title(), "\n");
      absl::StrAppend(&out, "      valid ", DateOrDash(measure.valid_from()),
                      " to ", DateOrDash(measure.valid_until()));
      if (!measure.rule_ids().empty()) {
        absl::StrAppend(&out, "; rules ",
                        absl::StrJoin(measure.rule_ids(), ", "));
      }
      absl::StrAppend(&out, "\n");
      if (!measure.summary().empty()) {
        absl::StrAppend(&out, "      ", measure.summary(), "\n");
      }
      const std::string measure_citation = FormatCitation(measure.citation());
      if (!measure_citation.empty()) {
        absl::StrAppend(&out, "      source: ", measure_citation, "\n");
      }
    }
  }
  return out;
}

std::string FormatRuleSet(const v1::RuleSetInfo& info_in) {
  const v1::RuleSetInfo info = ForTerminal(info_in);
  std::string out;
  absl::StrAppend(&out, "Revision              ", info.revision(), "\n");
  if (info.has_data_current_through()) {
    absl::StrAppend(&out, "Data current through  ",
                    DateOrDash(info.data_current_through()), "\n");
  }
  if (info.has_new_measures_reviewed_through()) {
    absl::StrAppend(&out, "New measures searched ",
                    DateOrDash(info.new_measures_reviewed_through()),
                    " (then ", info.new_measures_grace_days(),
                    " days of warnings, then review)\n");
  }
  absl::StrAppend(&out, "Loaded at             ",
                  FormatTimestamp(info.loaded_at()), "\n");
  absl::StrAppend(&out, "Instruments           ", info.instrument_count(),
                  "\nMeasures              ", info.measure_count(), "\n");
  if (!info.files().empty()) {
    absl::StrAppend(&out, "Files                 ",
                    absl::StrJoin(info.files(), "\n                      "),
                    "\n");
  }
  return out;
}

namespace {

// What the reload's answer says of the activation it accounted for first.
std::string EarlierActivationOutcome(const v1::ReloadRuleSetResponse& r) {
  if (!r.earlier_retroactive_impact_id().empty()) {
    return absl::StrCat("retroactive impact ", r.earlier_retroactive_impact_id());
  }
  if (!r.earlier_retroactive_impact_error().empty()) {
    return absl::StrCat("no record: ", r.earlier_retroactive_impact_error());
  }
  return "no past verdict differed under it";
}

}  // namespace

std::string FormatReload(const v1::ReloadRuleSetResponse& response_in) {
  const v1::ReloadRuleSetResponse response = ForTerminal(response_in);
  std::string out;
  if (response.changed()) {
    absl::StrAppend(
        &out, "Rule set reloaded: ", ShortHash(response.previous_revision()),
        " -> ", ShortHash(response.rule_set().revision()), "\n");
  } else {
    absl::StrAppend(&out, "Rule set unchanged (",
                    ShortHash(response.rule_set().revision()), ").\n");
  }
  if (response.earlier_activation_accounted()) {
    absl::StrAppend(
        &out, "Accounted first for the activation before (not on record yet): ",
        EarlierActivationOutcome(response), "\n");
  }
  if (!response.retroactive_impact_id().empty()) {
    absl::StrAppend(&out, "Retroactive impact ", response.retroactive_impact_id(),
                    ": ", response.retroactive_verdicts_changed(), " of ",
                    response.retroactive_decisions_evaluated(),
                    " past binding decisions would be decided differently "
                    "(tradecheck audit impacts ",
                    response.retroactive_impact_id(), ")\n");
  } else if (response.changed() &&
             response.retroactive_impact_error().empty()) {
    absl::StrAppend(&out, "Retroactive impact: none (",
                    response.retroactive_decisions_evaluated(),
                    " past binding decisions evaluated, none changed)\n");
  }
  if (!response.retroactive_impact_error().empty()) {
    absl::StrAppend(&out, "WARNING: ", response.retroactive_impact_error(),
                    "\n");
  }
  absl::StrAppend(&out, FormatRuleSet(response.rule_set()));
  return out;
}

std::string FormatStoreStats(const v1::GetStoreStatsResponse& stats_in) {
  const v1::GetStoreStatsResponse stats = ForTerminal(stats_in);
  std::string out = absl::StrCat(
      "Trail heads: binding #", stats.binding_head_sequence(),
      ", validate-only #", stats.validate_only_head_sequence(), "\n",
      "Since start: ", stats.records_written(), " records in ",
      stats.group_commits(), " group commits (", stats.synced_writes(),
      " fsyncs), ", stats.replays(), " idempotent replays\n");
  if (stats.synced_writes() > 0) {
    absl::StrAppend(&out, "Records per fsync: ",
                    absl::StrFormat("%.1f", static_cast<double>(
                                                stats.records_written()) /
                                                stats.synced_writes()),
                    "\n");
  }
  return out;
}

std::string FormatBackup(const v1::CreateBackupResponse& response_in) {
  const v1::CreateBackupResponse response = ForTerminal(response_in);
  return absl::StrCat("Backup written to ", response.directory(),
                      " (on the server), binding trail through #",
                      response.binding_sequence(), "; verified after writing (",
                      response.records_verified(), " records).\n");
}

std::string FormatMeasureLookup(const v1::LookupMeasuresResponse& response) {
  std::string out = absl::StrCat(
      "HS code       ", response.hs_code(), "\n", "Date          ",
      DateOrDash(response.date()), "\n", "Revision      ",
      response.rule_set_revision(), "\n", "Measures      ",
      response.measures_size(), "\n");
  for (const v1::MeasureMatch& m : response.measures()) {
    absl::StrAppend(
        &out, "\n",
        absl::StrFormat("%-13s %s  %s  %s\n",
                        StripPrefix(v1::MeasureApplicability_Name(
                                        m.applicability()),
                                    "MEASURE_APPLICABILITY_"),
                        m.measure().measure_id(), m.measure().kind(),
                        m.measure().title()));
    const std::string more(14, ' ');
    absl::StrAppend(&out, more, "terms:  ", m.terms(), "\n");
    if (m.has_rate_basis_points()) {
      absl::StrAppend(&out, more, "rate:   ", FormatRate(m.rate_basis_points()),
                      m.filing_heading().empty()
                          ? std::string()
                          : absl::StrCat("  (", m.filing_heading(), ")"),
                      "\n");
    }
    for (const std::string& c : m.conditions()) {
      absl::StrAppend(&out, more, "if:     ", c, "\n");
    }
    absl::StrAppend(
        &out, more, "status: ", m.instrument_id(), " ",
        StatusName(m.instrument_status()),
        m.status_unconfirmed() ? " (unconfirmed)" : "",
        m.has_confirmation()
            ? absl::StrCat(
                  "; confirmed ", DateOrDash(m.confirmation().confirmed_on()),
                  m.confirmation_age_days() > 0
                      ? absl::StrCat(" (", m.confirmation_age_days(),
                                     " days before)")
                      : std::string(),
                  m.review_overdue() ? "; review overdue" : "")
            : std::string(),
        "\n");
    const std::string citation = FormatCitation(m.measure().citation());
    if (!citation.empty()) absl::StrAppend(&out, more, "source: ", citation, "\n");
  }
  return out;
}

std::string FormatPreviewHeader() {
  return absl::StrFormat("%-16s %-30s %-13s %-13s %s\n", "DECISION",
                         "DECLARATION", "BEFORE", "AFTER", "DUTY CHANGE");
}

std::string FormatPreviewChange(const v1::PreviewChange& change) {
  const int64_t d = change.duty_difference_minor_units();
  v1::Money magnitude = change.duty_after();
  magnitude.set_minor_units(d < 0 ? -d : d);
  std::string out = absl::StrFormat(
      "%-16s %-30s %-13s %-13s %s\n", change.decision_id(),
      change.declaration_id(),
      StripPrefix(v1::Outcome_Name(change.outcome_before()), "OUTCOME_"),
      StripPrefix(v1::Outcome_Name(change.outcome_after()), "OUTCOME_"),
      d == 0 ? std::string("-")
             : absl::StrCat(d > 0 ? "+" : "-", FormatMoney(magnitude)));
  if (!change.rules_gained().empty() || !change.rules_lost().empty()) {
    absl::StrAppend(&out, "                 rules: ",
                    change.rules_gained().empty()
                        ? std::string()
                        : absl::StrCat("+", absl::StrJoin(change.rules_gained(),
                                                          " +")),
                    !change.rules_gained().empty() &&
                            !change.rules_lost().empty()
                        ? " "
                        : "",
                    change.rules_lost().empty()
                        ? std::string()
                        : absl::StrCat("-", absl::StrJoin(change.rules_lost(),
                                                          " -")),
                    "\n");
  }
  for (const std::string& c : change.changes()) {
    absl::StrAppend(&out, "                 ", c, "\n");
  }
  return out;
}

namespace {

// The totals of a comparison of two rule sets, the "after" one first.
std::string FormatComparisonTotals(const v1::PreviewTotals& totals_in,
                                   absl::string_view after_label,
                                   absl::string_view before_label) {
  const v1::PreviewTotals totals = ForTerminal(totals_in);
  std::string out = absl::StrCat(
      "\n", after_label, totals.candidate_revision(), "\n", before_label,
      totals.current_revision(), "\n",
      "Evaluated     ", totals.decisions_evaluated(), " binding decisions",
      totals.truncated()
          ? absl::StrCat(" (limit reached after ", totals.last_decision_id(),
                         ": older ones not evaluated)")
          : "",
      "\n",
      "Changed       ", totals.verdicts_changed(), " verdicts, ",
      totals.outcomes_changed(), " outcomes\n");
  std::map<std::string, uint64_t> transitions(
      totals.outcome_transitions().begin(), totals.outcome_transitions().end());
  for (const auto& [t, n] : transitions) {
    absl::StrAppend(&out, "              ", t, ": ", n, "\n");
  }
  for (const auto& d : totals.duty_differences()) {
    v1::Money magnitude;
    magnitude.set_currency_code(d.currency_code());
    magnitude.set_minor_units(d.minor_units() < 0 ? -d.minor_units()
                                                  : d.minor_units());
    absl::StrAppend(&out, "Duty change   ", d.minor_units() < 0 ? "-" : "+",
                    FormatMoney(magnitude), "\n");
  }
  return out;
}

}  // namespace

std::string FormatPreviewTotals(const v1::PreviewTotals& totals) {
  return FormatComparisonTotals(totals, "Candidate     ", "In force      ");
}

std::string FormatImpactListHeader() {
  return absl::StrFormat("%-16s %-23s  %-19s %-19s %9s %8s  %s\n", "IMPACT",
                         "ACTIVATED", "FROM", "TO", "EVALUATED", "CHANGED",
                         "BY");
}

std::string FormatImpactLine(const v1::RetroactiveImpact& impact_in) {
  const v1::RetroactiveImpact impact = ForTerminal(impact_in);
  return absl::StrFormat(
      "%-16s %-23s  %-19s %-19s %9d %8d  %s%s\n", impact.impact_id(),
      FormatTimestamp(impact.activated_at()),
      ShortHash(impact.previous_revision()), ShortHash(impact.new_revision()),
      impact.totals().decisions_evaluated(), impact.totals().verdicts_changed(),
      impact.activated_by(), impact.totals().truncated() ? "  (truncated)" : "");
}

std::string FormatImpactHeader(const v1::RetroactiveImpact& impact_in) {
  const v1::RetroactiveImpact impact = ForTerminal(impact_in);
  return absl::StrCat(
      "Impact        ", impact.impact_id(), "\n",
      "Activated     ", FormatTimestamp(impact.activated_at()), " by ",
      impact.activated_by(), " (",
      absl::StripPrefix(v1::CallerRole_Name(impact.activated_by_role()),
                        "CALLER_ROLE_"),
      ")\n",
      "Past          binding decisions governed before ",
      FormatDate(impact.activation_day()), ", trail head #",
      impact.binding_head_sequence(), "\n",
      "Digest        ", impact.content_digest(), "\n\n", FormatPreviewHeader());
}

std::string FormatImpactTotals(const v1::RetroactiveImpact& impact) {
  return FormatComparisonTotals(impact.totals(), "New revision  ",
                                "Previous      ");
}

}  // namespace tradecheck
