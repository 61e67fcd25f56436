"""Writes of the risk app, one entry point per state change (see each module's docstring).

credit: score_customers, score_customer, credit_policy · monitoring: ingest_transaction, monitor_new_transactions ·
cases: open_case, add_alerts_to_case, assign_case, add_case_note, start_investigation, close_case ·
interventions: propose_intervention, approve_intervention, reject_intervention, reverse_intervention ·
drift: compute_credit_drift, queue_challenger · grades: refresh_risk_grades
"""
