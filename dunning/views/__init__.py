"""Collection pages: the collector's worklist, the collection panel of a dealer, the
escalation queue, follow-up tasks and the managers' alerts.

`panel` holds the panel of one dealer and its forms, `lists` the pages that list work
across dealers, `common` what both need. Every page starts from what the user may see
(`Dealer.objects.visible_to`), so a dealer outside the user's portfolio is a 404. Changes
go through `dunning.services`; the views only turn a refusal into the right answer: a
form error for `InvalidInput`, a 403 page for `PermissionDenied`, a message for a
conflict (somebody was faster), never a 500.
"""
