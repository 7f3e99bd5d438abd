ptf ~
# gwflow hydraulic conductivity per zone [m/d]: ZONE  HK
# zones: 1 gravel (river alluvium), 2 sand (alluvial fan), 3 silty sand,
#        4 clay lens, 5 weathered bedrock (piedmont)
1  ~   hk_1    ~
2  ~   hk_2    ~
3  ~   hk_3    ~
4  ~   hk_4    ~
5  ~   hk_5    ~
