"""Related findings from one root cause: one wrong DLI date makes the chemotherapy, plerixafor and
immunosuppression timings look wrong too; one wrong SiteRef leaves every lab row of its subjects without
an enrollment. Each such consequence names its root finding, so the site gets one query for the one
thing to fix, with its consequences listed, instead of one query per symptom.

Which rule follows from what is data (``consequence_of`` in ``specs/rules.yaml``).
"""

from __future__ import annotations

import pandas as pd

from dli_etl.findings import rule_catalogue


def link_root_causes(findings: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``findings`` with ``root_finding_id`` set on each finding that follows from another finding
    of the same study and subject: an error on a form.field the rule depends on, or a finding of a rule it
    follows from. The root is the first such finding by id, so the link is stable across runs."""
    out = findings.copy()
    if "root_finding_id" not in out.columns:
        out["root_finding_id"] = pd.Series("", index=out.index, dtype="string")
    out["root_finding_id"] = out["root_finding_id"].fillna("")
    if out.empty:
        return out
    catalogue = rule_catalogue()
    subject = out["subjid"].fillna("")
    place = out["form"].fillna("") + "." + out["field"].fillna("")
    for rule_id in out["rule_id"].dropna().unique():
        rule = catalogue.get(rule_id)
        if rule is None or not (rule.consequence_of_rules or rule.consequence_of_fields):
            continue
        is_root = ((out["rule_id"].isin(rule.consequence_of_rules) & (out["severity"] != "info"))
                   | ((out["severity"] == "error") & place.isin(rule.consequence_of_fields)))
        is_root &= (subject != "") & (out["rule_id"] != rule_id)
        if not is_root.any():
            continue
        roots = (pd.DataFrame({"study": out["study"], "subjid": subject, "root": out["finding_id"]})[is_root]
                 .sort_values("root", kind="mergesort").drop_duplicates(["study", "subjid"]))
        mine = (out["rule_id"] == rule_id) & (subject != "")
        keyed = pd.DataFrame({"study": out.loc[mine, "study"], "subjid": subject[mine]})
        matched = keyed.merge(roots, on=["study", "subjid"], how="left")["root"].to_numpy()
        out.loc[mine, "root_finding_id"] = pd.array(matched, dtype="string").fillna("")
    return out
