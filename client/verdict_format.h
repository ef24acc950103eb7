// Text for people: the tables the `tradecheck` command prints on a terminal
// (its --json output is the protobuf JSON mapping instead; see
// declaration_json.h). Every function returns text ending in a newline.
//
// A verdict reads top-down: the overall outcome and total duty, a one-row-
// per-line table, then each line's duties and findings with the legal
// source of each, so a customs officer can open the text a finding cites.
#ifndef TRADECHECK_CLIENT_VERDICT_FORMAT_H_
#define TRADECHECK_CLIENT_VERDICT_FORMAT_H_

#include <string>

#include "tradecheck/v1/admin_service.pb.h"
#include "tradecheck/v1/agreement_service.pb.h"
#include "tradecheck/v1/audit_service.pb.h"
#include "tradecheck/v1/compliance_service.pb.h"
#include "tradecheck/v1/declaration.pb.h"
#include "tradecheck/v1/verdict.pb.h"

namespace tradecheck {

// "ALLOW", "DENY", "NEEDS_REVIEW", "UNSPECIFIED".
std::string OutcomeName(v1::Outcome outcome);

// `declaration` (may be null) adds each line's HS code and description.
std::string FormatVerdict(const v1::Verdict& verdict,
                          const v1::Declaration* declaration);
std::string FormatCheckResponse(const v1::CheckDeclarationResponse& response,
                                const v1::Declaration* declaration);

// Batch output: one row per result, under FormatBatchHeader().
std::string FormatBatchHeader();
std::string FormatBatchRow(const v1::CheckResult& result);

// A stored decision: the audit fields, then the verdict.
std::string FormatDecision(const v1::Decision& decision);
// Audit listing: one row per decision, under FormatDecisionListHeader().
std::string FormatDecisionListHeader();
std::string FormatDecisionRow(const v1::Decision& decision);

std::string FormatVerifyTrail(const v1::VerifyTrailResponse& response);
std::string FormatReevaluation(const v1::ReevaluateDecisionResponse& response);

std::string FormatInstrumentList(const v1::ListInstrumentsResponse& response);
std::string FormatInstrument(const v1::Instrument& instrument);
std::string FormatRuleSet(const v1::RuleSetInfo& info);
std::string FormatReload(const v1::ReloadRuleSetResponse& response);
std::string FormatBackup(const v1::CreateBackupResponse& response);

std::string FormatStoreStats(const v1::GetStoreStatsResponse& stats);

// measures: one block per measure, APPLIES first.
std::string FormatMeasureLookup(const v1::LookupMeasuresResponse& response);
// rules preview: a header, one row per changed verdict, then the totals.
std::string FormatPreviewHeader();
std::string FormatPreviewChange(const v1::PreviewChange& change);
std::string FormatPreviewTotals(const v1::PreviewTotals& totals);
// audit impacts: one line per record (with a header), and one record in
// full (its changes as the preview prints them, then its totals).
std::string FormatImpactListHeader();
std::string FormatImpactLine(const v1::RetroactiveImpact& impact);
std::string FormatImpactHeader(const v1::RetroactiveImpact& impact);
std::string FormatImpactTotals(const v1::RetroactiveImpact& impact);

}  // namespace tradecheck

#endif  // TRADECHECK_CLIENT_VERDICT_FORMAT_H_
