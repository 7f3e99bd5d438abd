ptf ~
# gwflow recharge multiplier (applied to the base rate in demo.rch)
RCH_MULT  ~  rch_mult   ~
