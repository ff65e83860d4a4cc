//! The generator's randomness and words: a seeded xorshift, a skewed pick, and chat text from
//! a small vocabulary (common support words, product words, rarer made-up names, now and then
//! an order number), so that the search index gets postings of realistic shape: a few terms in
//! most chats, a long tail of terms in a handful.

/// xorshift64* (Vigna): small, fast, good enough for test data; never zero.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // SplitMix64 once, so that small seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [lo, hi] (hi >= lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }

    /// An index in [0, n), skewed towards 0 (roughly Zipf with exponent 1: P(i) ~ 1/(i+1)).
    pub fn skewed(&mut self, n: usize) -> usize {
        // Inverse of the continuous 1/x law over [1, n + 1).
        let x = ((n as f64 + 1.0).ln() * self.unit()).exp() - 1.0;
        (x as usize).min(n - 1)
    }
}

const COMMON: &str = "the to you and is it my for can of on in please order thanks hello hi help with your we this that be \
    have will not do me how what when delivery account payment refund size price shipping return invoice \
    card email address password login cancel change available stock today tomorrow week days number code \
    discount item items package tracking arrived damaged wrong missing colour model warranty repair \
    exchange store online app website error page checkout basket problem question sure moment check let \
    just sorry great thank okay yes no still again already received sent paid charged twice bank \
    transfer voucher gift subscription plan upgrade invoice receipt vat company business customer \
    service agent colleague department billing technical support manager call phone back soon hours open \
    closed monday friday weekend express standard free cost euro fee box label courier pickup point \
    locker street city postcode country abroad battery charger cable screen button light manual \
    instructions install update version reset settings works broken noise leaking zipper strap";

const PRODUCTS: &str = "tent backpack sleeping bag mat stove lantern jacket boots shoes socks gloves helmet bike saddle pump \
    tyre tube lock bottle flask mug pan pot knife compass map headlamp poles rope harness carabiner \
    chalk kayak paddle vest wetsuit fins mask snorkel skis bindings goggles snowboard sled hammock tarp \
    cooler chair table grill shelter poncho trousers shorts shirt fleece hat cap scarf belt";

const SYLLABLES: &str = "ka ro vel tin dor mi sa lun ber ko zan pe tra gal nor fi quo dex ul mar sen vo lis ta bru ne hal cor \
    ix po";

pub const FIRST: &str = "Anna Ben Clara David Elena Felix Greta Hugo Ines Jonas Karin Luca Maria Nils Olga Paul Quentin Rosa \
    Sven Tara Ugo Vera Wim Xenia Yusuf Zoe Amir Bea Carl Dana Emil Fatima Gustav Hana Igor Julia Kemal \
    Lena Marco Nora";

pub const LAST: &str = "Berg Costa Dubois Eriksen Fischer Garcia Hansen Ivanova Jensen Kowalski Lind Moreau Novak Olsen \
    Petrov Rossi Schmidt Torres Urban Varga Weber Yilmaz Zeller Andersen Bauer Conti Dahl Ek Fontaine \
    Gruber";

/// The words of a list above.
pub fn list(words: &'static str) -> Vec<&'static str> {
    words.split_whitespace().collect()
}

/// The words chats are written with: the lists above and made-up product names.
pub struct Vocabulary {
    common: Vec<&'static str>,
    products: Vec<&'static str>,
    pub first: Vec<&'static str>,
    pub last: Vec<&'static str>,
    rare: Vec<String>,
    /// The last order number written (a word of one or two chats, for a rare-word search).
    pub last_number: String,
}

impl Vocabulary {
    /// `rare` made-up words of two or three syllables, in a fixed order (index 0 most used).
    pub fn new(rng: &mut Rng, rare: usize) -> Vocabulary {
        let syllables = list(SYLLABLES);
        let mut words = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(rare);
        while out.len() < rare {
            let n = rng.range(2, 3);
            let w: String = (0..n).map(|_| *rng.pick(&syllables)).collect();
            if words.insert(w.clone()) {
                out.push(w);
            }
        }
        Vocabulary {
            common: list(COMMON),
            products: list(PRODUCTS),
            first: list(FIRST),
            last: list(LAST),
            rare: out,
            last_number: String::new(),
        }
    }

    /// One message: 3 to 16 words, mostly common ones.
    pub fn sentence(&mut self, rng: &mut Rng) -> String {
        let n = rng.range(3, 16);
        let mut s = String::with_capacity(n as usize * 7);
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            let r = rng.unit();
            if r < 0.72 {
                s.push_str(self.common[rng.skewed(self.common.len())]);
            } else if r < 0.90 {
                s.push_str(self.products[rng.skewed(self.products.len())]);
            } else if r < 0.995 {
                s.push_str(&self.rare[rng.skewed(self.rare.len())]);
            } else {
                // An order number: a term of one or two chats.
                self.last_number = rng.range(100_000, 999_999).to_string();
                s.push_str(&self.last_number);
            }
        }
        if let Some(first) = s.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        s.push(if rng.chance(0.3) { '?' } else { '.' });
        s
    }
}
