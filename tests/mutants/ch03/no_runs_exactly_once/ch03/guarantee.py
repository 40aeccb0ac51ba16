AT_MOST_ONCE = "at-most-once"
AT_LEAST_ONCE = "at-least-once"
EXACTLY_ONCE = "exactly-once"
NO_GUARANTEE = "no guarantee"


def guarantee_of(outcomes):
    outcomes = list(outcomes)
    lost = any(outcome.lost for outcome in outcomes)
    duplicated = any(outcome.duplicated for outcome in outcomes)
    if lost and duplicated:
        return NO_GUARANTEE
    if lost:
        return AT_MOST_ONCE
    if duplicated:
        return AT_LEAST_ONCE
    return EXACTLY_ONCE
