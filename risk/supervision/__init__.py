"""Supervision workflows: 双随机 sampling plans with inspector recusal, extension checks,
warnings and watchlists, record expiry and credit repair (see docs/supervision.md)."""
