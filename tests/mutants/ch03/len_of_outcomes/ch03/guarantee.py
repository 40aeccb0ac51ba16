AT_MOST_ONCE = "at-most-once"
AT_LEAST_ONCE = "at-least-once"
EXACTLY_ONCE = "exactly-once"
NO_GUARANTEE = "no guarantee"


def guarantee_of(outcomes):
    if len(outcomes) == 0:
        raise ValueError("no outcomes")
    lost = any(o.lost for o in outcomes)
    duplicated = any(o.duplicated for o in outcomes)
    if lost and duplicated:
        return NO_GUARANTEE
    if lost:
        return AT_MOST_ONCE
    if duplicated:
        return AT_LEAST_ONCE
    return EXACTLY_ONCE
