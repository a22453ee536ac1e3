"""Citations that several rule families name (one spelling each, so a correction reaches every
finding that cites the source)."""

COHEN = ("Cohen SP et al. Consensus guidelines on IV ketamine for chronic pain, Reg Anesth Pain Med "
         "2018;43(5):521-546, doi:10.1097/AAP.0000000000000808")
NOPPERS = "Noppers IM et al. Pain 2011;152(9):2173-8, PMID 21546160"
# The short form, where a finding names several sources (a CDS Hooks card label holds 300
# characters, and a cut citation would show a wrong number).
COHEN_SHORT = "Cohen 2018 consensus, doi:10.1097/AAP.0000000000000808"
