def guarantee_of(outcomes):
    outcomes = list(outcomes)
    if not outcomes:
        raise ValueError("no outcomes")
    first = outcomes[0]
    if first.lost and first.duplicated:
        return "no guarantee"
    if first.lost:
        return "at-most-once"
    if first.duplicated:
        return "at-least-once"
    return "exactly-once"
