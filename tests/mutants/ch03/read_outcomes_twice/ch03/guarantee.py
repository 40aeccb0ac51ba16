def guarantee_of(outcomes):
    lost = any(outcome.lost for outcome in outcomes)
    duplicated = any(outcome.duplicated for outcome in outcomes)
    if not lost and not duplicated and not outcomes:
        raise ValueError("no outcomes")
    if lost and duplicated:
        return "no guarantee"
    if lost:
        return "at-most-once"
    if duplicated:
        return "at-least-once"
    return "exactly-once"
