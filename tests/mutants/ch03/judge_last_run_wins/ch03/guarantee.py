def guarantee_of(outcomes):
    verdict = None
    for outcome in outcomes:
        if outcome.lost and outcome.duplicated:
            verdict = "no guarantee"
        elif outcome.lost:
            verdict = "at-most-once"
        elif outcome.duplicated:
            verdict = "at-least-once"
        elif verdict is None:
            verdict = "exactly-once"
    if verdict is None:
        raise ValueError("no outcomes")
    return verdict
