"""The shape of the demo city: every share, rate and tail its stages draw with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Knobs:
    """Shape of the city. Documented in docs/demo-data.md; change there too."""

    foreign_share: float = 0.005  # enterprises rows that are foreign shareholders
    individual_share: float = 0.10  # 个体工商户 (92…): an operator, no shareholders
    established_inside_share: float = 0.42  # firms founded inside [start, end]
    age_scale_years: float = 6.0  # mean age at `start` of the older firms
    company_dereg_share: float = 0.09  # companies deregistered or revoked inside the period
    individual_dereg_share: float = 0.22
    revoked_share: float = 0.25  # of the firms that end, those revoked rather than deregistered
    enterprises_per_agent: int = 2000  # one agent address per this many firms
    agent_share: float = 0.06  # firms registered at an agent's address
    agent_concentration: float = 0.8  # Zipf exponent of firms over agents
    group_share: float = 0.08  # companies that belong to a holding group
    group_size_cap: int = 300
    group_size_tail: float = 1.2  # Pareto index of group sizes (smaller: heavier tail)
    chain_bias: float = 0.35  # chance a member hangs under the previous one (long chains)
    max_depth: int = 6  # ownership levels below a group's top company
    group_dereg_share: float = 0.06  # leaves of a group tree that end inside the period
    cross_holding_share: float = 0.12  # groups where a deep member holds shares of the top
    foreign_top_share: float = 0.06  # groups whose top company has a foreign shareholder
    foreign_stakes_per_foreign: float = 1.6  # stakes per foreign company
    holder_counts: tuple[float, ...] = (0.55, 0.27, 0.10, 0.04, 0.02, 0.01, 0.01)  # 1..7
    corporate_holder_share: float = 0.04  # independent firms whose main holder is a company
    unknown_share_share: float = 0.005  # firms whose stakes are filed without a fraction
    rep_is_main_holder: float = 0.85
    nominee_share: float = 0.35  # firms at agents' addresses with a nominee legal rep
    nominee_tail: float = 1.2  # Pareto index of the firms a nominee fronts for (3 to max_roles)
    officer_share: float = 0.35  # independent companies that file officers
    single_role_share: float = 0.80  # people with one role; the rest are serial
    serial_tail: float = 1.3  # Pareto index of the roles of serial people
    max_roles: int = 30
    transfer_share: float = 0.08  # holdings sold inside the period
    rebuy_share: float = 0.25  # of those, bought back later by the seller
    known_buyer_share: float = 0.5  # buyers who already hold shares elsewhere
    rep_changes: tuple[float, ...] = (0.82, 0.14, 0.04)  # 0, 1, 2 changes of legal rep
    officer_turnover: float = 0.10
    unknown_officer_start: float = 0.03  # officer rows of old firms without a start date
    guarantees_per_enterprise: float = 0.30
    # Circles, mutual pairs, chains, group-internal and single guarantees.
    guarantee_mix: tuple[float, ...] = (0.18, 0.14, 0.22, 0.12, 0.34)
    crisis_share: tuple[float, ...] = (0.22, 0.10, 0.08, 0.03, 0.03)  # structures in default
    default_in_crisis: tuple[float, ...] = (0.7, 0.6, 0.6, 1.0, 1.0)  # edges of those
    risk_sigma: float = 0.8  # spread of the firms' own risk (log-normal)
    agent_risk: float = 2.5  # risk factor of firms at agents' addresses
    # Bad records per firm-year: abnormal list, black list, dishonest debtor, penalty.
    base_rates: tuple[float, ...] = (0.0075, 0.00015, 0.0008, 0.0065)
    contagion: float = 0.10  # chance a bad record spreads along one link
    contagion_hub: float = 3.0  # a link shared by many firms passes at most this many times
    contagion_delay_days: float = 240.0
    contagion_generations: int = 3
    contagion_kinds: tuple[float, ...] = (0.50, 0.04, 0.10, 0.36)  # kind of a spread record
    debtor_after_default: tuple[float, float] = (0.30, 0.12)  # guaranteed firm, guarantor
    abnormal_cure_share: float = 0.50
    escalation_share: float = 0.35  # uncured abnormal listings moved to the black list
    commitments_per_year: float = 0.03
    broken_commitment: float = 0.04
    inspections_per_year: float = 0.04
    follow_up_inspections: float = 0.5  # after a bad record
    # What registries and court sources add (stream 7, so the stages above are unchanged).
    paid_in_known: float = 0.70  # companies that publish their paid-in capital
    paid_in_mix: tuple[float, float] = (0.45, 0.35)  # of those: all paid in, nothing (rest: part)
    head_office_share: float = 0.15  # independent companies with ≥ ¥5 M capital and branches
    branches_per_head: float = 0.8  # branches beyond the first (Poisson)
    lawsuits_per_year: float = 0.06  # suits per firm-year, besides those behind judgments
    lawsuit_counterpart: float = 0.4  # suits whose other party is a firm of the city
    enforcement_after_suit: float = 0.2  # suits as defendant that go to enforcement
    tax_violation_rate: float = 0.0004  # serious tax violations per firm-year (×6 at agents)
    bankruptcy_after_trouble: float = 0.10  # dishonest debtors and defaulted borrowers that fail
    # Guarantees published without contract number, without amount, without start.
    guarantee_unknowns: tuple[float, float, float] = (0.01, 0.003, 0.003)
